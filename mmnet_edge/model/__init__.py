"""MMNet model: config, preset registry, building blocks and reference-weight conversion.

Importing this package does not import torch: :class:`MMNetConfig` and the registry are
loaded eagerly, the network classes and the reference-weight converters on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmnet_edge._lazy import lazy_attributes
from mmnet_edge.model.config import MMNetConfig
from mmnet_edge.model.registry import (
    create_config,
    create_model,
    get_model_spec,
    list_models,
    register_model,
)

if TYPE_CHECKING:
    from mmnet_edge.model.mmnet import MMNet, MMNetFeatures, count_parameters
    from mmnet_edge.model.reference import (
        convert_reference_state_dict,
        from_reference_state_dict,
        load_reference_file,
    )

# name → module that defines it (imported on first attribute access; these need torch)
_LAZY: dict[str, str] = {
    "MMNet": "mmnet_edge.model.mmnet",
    "MMNetFeatures": "mmnet_edge.model.mmnet",
    "count_parameters": "mmnet_edge.model.mmnet",
    "convert_reference_state_dict": "mmnet_edge.model.reference",
    "from_reference_state_dict": "mmnet_edge.model.reference",
    "load_reference_file": "mmnet_edge.model.reference",
}


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


__all__ = [
    "MMNet",
    "MMNetConfig",
    "MMNetFeatures",
    "convert_reference_state_dict",
    "count_parameters",
    "create_config",
    "create_model",
    "from_reference_state_dict",
    "get_model_spec",
    "list_models",
    "load_reference_file",
    "register_model",
]
