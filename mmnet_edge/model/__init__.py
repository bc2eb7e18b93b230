"""MMNet model: config, building blocks and reference-weight conversion."""

from mmnet_edge.model.config import MMNetConfig
from mmnet_edge.model.mmnet import MMNet, MMNetFeatures, count_parameters
from mmnet_edge.model.reference import (
    convert_reference_state_dict,
    from_reference_state_dict,
    load_reference_file,
)

__all__ = [
    "MMNet",
    "MMNetConfig",
    "MMNetFeatures",
    "convert_reference_state_dict",
    "count_parameters",
    "from_reference_state_dict",
    "load_reference_file",
]
