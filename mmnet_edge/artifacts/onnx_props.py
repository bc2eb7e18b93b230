"""Read an ONNX file's header facts without the ``onnx`` package (runtime installs lack it).

ONNX files are protobuf ``ModelProto`` messages. A minimal schema of the fields needed
here (``metadata_props``, ``opset_import``, ``producer_name``, the graph's I/O names and
node op types) is declared with protobuf's own descriptor API — protobuf ships with
onnxruntime — so parsing is the library's, and unknown fields are skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mmnet_edge.errors import CheckpointError

# field numbers from onnx/onnx.proto3 (stable since IR version 3):
# message → "field=number:type" (type: string, int64, int32, or a message name; * = repeated)
_SCHEMA: dict[str, str] = {
    "StringStringEntryProto": "key=1:string value=2:string",
    "OperatorSetIdProto": "domain=1:string version=2:int64",
    "NodeProto": "name=3:string op_type=4:string",
    "Dimension": "dim_value=1:int64 dim_param=2:string",
    "TensorShapeProto": "dim=1:Dimension*",
    "TensorTypeProto": "elem_type=1:int32 shape=2:TensorShapeProto",
    "TypeProto": "tensor_type=1:TensorTypeProto",
    "ValueInfoProto": "name=1:string type=2:TypeProto",
    "GraphProto": "node=1:NodeProto* input=11:ValueInfoProto* output=12:ValueInfoProto*",
    "ModelProto": (
        "ir_version=1:int64 producer_name=2:string graph=7:GraphProto "
        "opset_import=8:OperatorSetIdProto* metadata_props=14:StringStringEntryProto*"
    ),
}
_ELEM_TYPES = {1: "float32", 10: "float16", 3: "int8", 2: "uint8", 6: "int32", 7: "int64"}


@lru_cache(maxsize=1)
def _model_class() -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(
        name="mmnet_edge_onnx_subset.proto", package="mmnet_edge_onnx_subset", syntax="proto2"
    )
    types = {
        "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
        "message": descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
    }
    for msg_name, spec in _SCHEMA.items():
        msg = fdp.message_type.add(name=msg_name)
        for item in spec.split():
            fname, _, rest = item.partition("=")
            number, _, ftype = rest.partition(":")
            repeated = ftype.endswith("*")
            ftype = ftype.rstrip("*")
            mtype = None if ftype in types else ftype
            f = msg.field.add(
                name=fname, number=int(number), type=types[ftype if not mtype else "message"]
            )
            f.label = (
                descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
                if repeated
                else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
            )
            if mtype:
                f.type_name = f".mmnet_edge_onnx_subset.{mtype}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("mmnet_edge_onnx_subset.ModelProto")
    return message_factory.GetMessageClass(desc)


@dataclass
class OnnxHeader:
    """What ``info``, the loaders and the comparator need to know about an ONNX file."""

    props: dict[str, str]
    opset: int | None
    producer: str
    inputs: dict[str, tuple[str, list[int | str]]]  #: name → (elem type, shape)
    outputs: dict[str, tuple[str, list[int | str]]]
    ops: list[str] = field(default_factory=list)


def _io(values: Any) -> dict[str, tuple[str, list[int | str]]]:
    out: dict[str, tuple[str, list[int | str]]] = {}
    for v in values:
        tt = v.type.tensor_type
        dims: list[int | str] = [d.dim_param or int(d.dim_value) for d in tt.shape.dim]
        out[v.name] = (_ELEM_TYPES.get(int(tt.elem_type), f"type{tt.elem_type}"), dims)
    return out


def read_onnx_header(path: str | os.PathLike[str]) -> OnnxHeader:
    """Parse the header facts of an ONNX file; CheckpointError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ONNX model not found: {path}")
    data = path.read_bytes()
    msg = _model_class()()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise CheckpointError(
            f"{path} is not a readable ONNX file ({exc}); it may be truncated: re-export it "
            "with `mmnet-edge export`"
        ) from exc
    if not msg.HasField("graph") or not msg.graph.node:
        raise CheckpointError(f"{path} holds no ONNX graph; re-export it with `mmnet-edge export`")
    opset = max(
        (int(o.version) for o in msg.opset_import if o.domain in ("", "ai.onnx")), default=None
    )
    return OnnxHeader(
        props={p.key: p.value for p in msg.metadata_props},
        opset=opset,
        producer=msg.producer_name,
        inputs=_io(msg.graph.input),
        outputs=_io(msg.graph.output),
        ops=sorted({n.op_type for n in msg.graph.node}),
    )


def write_onnx_metadata(path: str | os.PathLike[str], meta: Any) -> None:
    """Replace the mmnet-edge entries of an ONNX file's ``metadata_props`` (needs ``onnx``;
    export-side only)."""
    import onnx

    from mmnet_edge.metadata import metadata_to_props

    model = onnx.load(str(path))
    props = metadata_to_props(meta)
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for k, v in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    model.producer_name = "mmnet-edge"
    onnx.save(model, str(path))
