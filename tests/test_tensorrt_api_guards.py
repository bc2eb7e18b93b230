"""Static check: every TensorRT ``Class.member`` the code uses exists where it is reachable.

The lists ``tests/data/tensorrt_names/<version>.txt`` hold TensorRT's Python API as
``Class.member`` pairs (and ``tensorrt.Name`` for module attributes), extracted from the
pybind11 bindings' sources of 8.6.1 (JetPack 5), 10.3 (JetPack 6), 10.16 (newest 10.x)
and 11.1 (newest 11.x) by ``scripts/extract_trt_names.py``.

The checker below reads ``mmnet_edge/`` with ``ast`` and infers which values are TensorRT
objects: the module (``trt = import_tensorrt()``, ``import tensorrt``), its classes
(``trt.BuilderFlag``), instances (``trt.Builder(logger)``, ``builder.create_network(...)``
through the return-type table ``RETURNS``, helper functions' return values, arguments
passed to the project's own functions, ``self._engine``…). Each attribute read, write or
call on one is a used pair, recorded with the feature guards in force at that point:
``if hasattr(X, "n")``, ``if feats.<field>`` (the field's ``hasattr`` tests are read from
``detect_features``), ``if not feats.<field>: raise`` before it, ``getattr(trt, "X", None)``
with an ``is None`` exit. A pair may be missing from a version only where one of its
guards is missing too (so the guarded branch is not taken there).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "tests" / "data" / "tensorrt_names"
SUPPORTED = ("8.6", "10.3", "10.16", "11.1")

# What TensorRT methods/properties return (from the bindings' signatures), so that
# calls on the results are checked too. A call whose result is used as a TensorRT object
# but is missing here fails `test_every_tensorrt_object_has_a_known_type`.
RETURNS = {
    ("Builder", "create_network"): "INetworkDefinition",
    ("Builder", "create_builder_config"): "IBuilderConfig",
    ("Builder", "create_optimization_profile"): "IOptimizationProfile",
    ("Builder", "build_serialized_network"): "IHostMemory",
    ("Builder", "build_engine_with_config"): "ICudaEngine",
    ("IBuilderConfig", "create_timing_cache"): "ITimingCache",
    ("IBuilderConfig", "get_timing_cache"): "ITimingCache",
    ("IBuilderConfig", "get_calibration_profile"): "IOptimizationProfile",
    ("ITimingCache", "serialize"): "IHostMemory",
    ("Runtime", "deserialize_cuda_engine"): "ICudaEngine",
    ("ICudaEngine", "create_execution_context"): "IExecutionContext",
    ("ICudaEngine", "create_engine_inspector"): "EngineInspector",
    ("ICudaEngine", "create_serialization_config"): "ISerializationConfig",
    ("ICudaEngine", "serialize"): "IHostMemory",
    ("ICudaEngine", "serialize_with_config"): "IHostMemory",
    ("ICudaEngine", "get_tensor_dtype"): "DataType",
    ("ICudaEngine", "get_tensor_mode"): "TensorIOMode",
    ("ICudaEngine", "get_tensor_location"): "TensorLocation",
    ("IExecutionContext", "engine"): "ICudaEngine",
    ("INetworkDefinition", "get_input"): "ITensor",
    ("INetworkDefinition", "get_output"): "ITensor",
    ("INetworkDefinition", "get_layer"): "ILayer",
    ("ILayer", "get_output"): "ITensor",
    ("ILayer", "get_input"): "ITensor",
    ("OnnxParser", "get_error"): "ParserError",
    ("Logger", "min_severity"): "ILogger.Severity",
}


def load_names() -> dict[str, set[str]]:
    out = {}
    for v in SUPPORTED:
        lines = (NAMES / f"{v}.txt").read_text().splitlines()
        out[v] = {ln for ln in lines if ln and not ln.startswith("#")}
    return out


# ---------------------------------------------------------------------------- checker

# ("module",) | ("class", Name) | ("inst", Name) | ("member", Class, name) | ("features",)
Type = tuple


@dataclass
class Use:
    pair: str
    guards: frozenset[str]
    where: str


@dataclass
class Analysis:
    features: dict[str, set[str]] = field(default_factory=dict)
    returns: dict[str, Type] = field(default_factory=dict)  # project function → result type
    params: dict[tuple[str, str], Type] = field(default_factory=dict)  # (function, param)
    positional: dict[str, list[str]] = field(default_factory=dict)
    self_attrs: dict[tuple[str, str], Type] = field(default_factory=dict)  # (class, attr)
    uses: list[Use] = field(default_factory=list)
    untyped: list[str] = field(default_factory=list)  # TensorRT results of unknown type
    guard_names: list[Use] = field(default_factory=list)  # pairs tested by guards


class Scope:
    def __init__(self, an: Analysis, where: str, cls: str | None, parent: Scope | None = None):
        self.an, self.where, self.cls = an, where, cls
        self.vars: dict[str, Type] = dict(parent.vars) if parent else {}
        self.optional: dict[str, str] = dict(parent.optional) if parent else {}
        self.func: str | None = None

    # -- typing -------------------------------------------------------------------
    def use(self, pair: str, guards: frozenset[str], node: ast.AST) -> None:
        self.an.uses.append(Use(pair, guards, f"{self.where}:{getattr(node, 'lineno', '?')}"))

    def typeof(self, node: ast.AST | None, g: frozenset[str]) -> Type | None:
        if node is None:
            return None
        if isinstance(node, ast.Name):
            return self.vars.get(node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self" and self.cls:
                return self.an.self_attrs.get((self.cls, node.attr))
            t = self.attribute(self.typeof(node.value, g), node.attr, g, node)
            if t is not None and t[0] == "member" and (t[1], t[2]) in RETURNS:
                return ("inst", RETURNS[(t[1], t[2])])  # a property of known type
            return t
        if isinstance(node, ast.Call):
            return self.call(node, g)
        if isinstance(node, ast.IfExp):
            self.typeof(node.test, g)
            a = self.typeof(node.body, g | self.guards(node.test))
            b = self.typeof(node.orelse, g | self.negative(node.test))
            return a or b
        if isinstance(node, ast.BoolOp):
            seen = g
            for v in node.values:
                self.typeof(v, seen)
                if isinstance(node.op, ast.And):
                    seen = seen | self.guards(v)
            return None
        for child in ast.iter_child_nodes(node):
            self.typeof(child, g)
        return None

    def attribute(self, t: Type | None, attr: str, g: frozenset[str], node: ast.AST) -> Type | None:
        if t is None:
            return None
        if t[0] == "module":
            self.use(f"tensorrt.{attr}", g, node)
            return ("class", attr) if attr[:1].isupper() else None
        if t[0] in ("class", "inst"):
            self.use(f"{t[1]}.{attr}", g, node)
            if t[0] == "class" and attr.isupper():
                return ("inst", t[1])  # an enum value
            if t[0] == "class" and attr[:1].isupper():
                return ("class", f"{t[1]}.{attr}")
            return ("member", t[1], attr)
        if t[0] == "member":
            self.an.untyped.append(f"{self.where}:{node.lineno} {t[1]}.{t[2]}(…).{attr}")
        return None

    def call(self, node: ast.Call, g: frozenset[str]) -> Type | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and node.args:
            t = self.typeof(node.args[0], g)
            name = node.args[1] if len(node.args) > 1 else None
            if func.id == "hasattr" or not isinstance(name, ast.Constant):
                for a in node.args[1:]:
                    self.typeof(a, g)
                return None
            pair = self.pair_of(t, str(name.value))
            optional = len(node.args) > 2
            if pair:
                self.use(pair, g | {pair} if optional else g, node)
            return self.attribute_type(t, str(name.value))
        if isinstance(func, ast.Name) and func.id == "trt_create" and len(node.args) >= 2:
            # trt_create(what, factory, *args): typed as factory(*args) (artifacts/platform.py)
            inner = ast.Call(func=node.args[1], args=list(node.args[2:]), keywords=[])
            ast.copy_location(inner, node)
            return self.call(inner, g)
        arg_types = [self.typeof(a, g) for a in node.args]
        kw_types = {k.arg: self.typeof(k.value, g) for k in node.keywords}
        if isinstance(func, ast.Name) and func.id == "super":
            return None
        fname = func.id if isinstance(func, ast.Name) else None
        if fname is None and isinstance(func, ast.Attribute):
            base = self.typeof(func.value, g)
            if base is None and not (isinstance(func.value, ast.Name) and func.value.id == "self"):
                fname = func.attr  # module.function(...) of the project
            t = self.attribute(base, func.attr, g, func)
        else:
            t = self.typeof(func, g)
        if fname is not None:
            names = self.an.positional.get(fname, [])
            for pname, at in [*zip(names, arg_types), *kw_types.items()]:
                if at is not None and pname:
                    self.an.params[(fname, pname)] = at
            if fname in self.an.returns:
                return self.an.returns[fname]
        if t is None:
            return None
        if t[0] == "class":
            return ("inst", t[1])
        if t[0] == "member":
            if (t[1], t[2]) in RETURNS:
                return ("inst", RETURNS[(t[1], t[2])])
            return ("member", t[1], t[2])
        return None

    @staticmethod
    def pair_of(t: Type | None, attr: str) -> str | None:
        if t is None:
            return None
        if t[0] == "module":
            return f"tensorrt.{attr}"
        if t[0] in ("class", "inst"):
            return f"{t[1]}.{attr}"
        return None

    @staticmethod
    def attribute_type(t: Type | None, attr: str) -> Type | None:
        if t is not None and t[0] == "module" and attr[:1].isupper():
            return ("class", attr)
        if t is not None and t[0] == "class" and attr.isupper():
            return ("inst", t[1])
        return None

    # -- guards ---------------------------------------------------------------------
    def guards(self, test: ast.AST) -> frozenset[str]:
        """Pairs that must exist for ``test`` to be true."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            return frozenset().union(*(self.guards(v) for v in test.values))
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "hasattr"
            and len(test.args) == 2
            and isinstance(test.args[1], ast.Constant)
        ):
            pair = self.pair_of(self.typeof(test.args[0], frozenset()), str(test.args[1].value))
            if pair:
                self.an.guard_names.append(Use(pair, frozenset(), f"{self.where}:{test.lineno}"))
            return frozenset({pair}) if pair else frozenset()
        if (
            isinstance(test, ast.Attribute)
            and test.attr in self.an.features
            and self.typeof(test.value, frozenset()) == ("features",)
        ):
            return frozenset(self.an.features[test.attr])
        if isinstance(test, ast.Name) and test.id in self.optional:
            return frozenset({self.optional[test.id]})
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.left, ast.Name)
            and test.left.id in self.optional
        ):
            return frozenset({self.optional[test.left.id]})
        return frozenset()

    def negative(self, test: ast.AST) -> frozenset[str]:
        """Pairs that must exist for ``test`` to be false."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.guards(test.operand)
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
            return frozenset().union(*(self.negative(v) for v in test.values))
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.ops[0], ast.Is)
            and isinstance(test.left, ast.Name)
            and test.left.id in self.optional
        ):
            return frozenset({self.optional[test.left.id]})
        return frozenset()

    # -- statements -----------------------------------------------------------------
    def block(self, stmts: list[ast.stmt], g: frozenset[str]) -> None:
        for st in stmts:
            self.stmt(st, g)
            if isinstance(st, ast.If) and st.body and _exits(st.body[-1]):
                g = g | self.negative(st.test)

    def stmt(self, st: ast.stmt, g: frozenset[str]) -> None:
        if isinstance(st, ast.If):
            self.typeof(st.test, g)
            self.block(st.body, g | self.guards(st.test))
            self.block(st.orelse, g | self.negative(st.test))
        elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(st, g)
        elif isinstance(st, ast.ClassDef):
            self.classdef(st, g)
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            mod = st.module if isinstance(st, ast.ImportFrom) else None
            for a in st.names:
                if isinstance(st, ast.Import) and a.name == "tensorrt":
                    self.vars[a.asname or a.name] = ("module",)
                elif mod == "tensorrt":
                    self.vars[a.asname or a.name] = ("class", a.name)
                    self.use(f"tensorrt.{a.name}", g, st)
        elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            t = self.typeof(st.value, g)
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            for tgt in targets:
                self.bind(tgt, t, st.value, g)
        elif isinstance(st, ast.Return):
            t = self.typeof(st.value, g)
            if t is not None and t[0] != "member" and self.func:
                self.an.returns[self.func] = t
            if self.func == "detect_features" and isinstance(st.value, ast.Call):
                self.an.returns[self.func] = ("features",)
                for kw in st.value.keywords:
                    if kw.arg:
                        self.an.features[kw.arg] = set(self.guards(kw.value))
        else:
            for child in ast.iter_child_nodes(st):
                if isinstance(child, ast.expr):
                    self.typeof(child, g)
                elif isinstance(child, ast.withitem):
                    t = self.typeof(child.context_expr, g)
                    if child.optional_vars is not None:
                        self.bind(child.optional_vars, t, child.context_expr, g)
                elif isinstance(child, ast.ExceptHandler):
                    self.block(child.body, g)
                elif isinstance(child, ast.stmt):
                    self.stmt(child, g)
                elif isinstance(child, ast.match_case):
                    self.block(child.body, g)

    def bind(self, tgt: ast.AST, t: Type | None, value: ast.AST | None, g: frozenset[str]) -> None:
        if isinstance(tgt, ast.Name):
            if t is not None:
                self.vars[tgt.id] = t
            else:
                self.vars.pop(tgt.id, None)
            self.optional.pop(tgt.id, None)
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "getattr"
                and len(value.args) == 3
                and isinstance(value.args[1], ast.Constant)
            ):
                pair = self.pair_of(self.typeof(value.args[0], g), str(value.args[1].value))
                if pair:
                    self.optional[tgt.id] = pair
        elif isinstance(tgt, ast.Attribute) and isinstance(tgt.value, ast.Name):
            if tgt.value.id == "self" and self.cls:
                if t is not None:
                    self.an.self_attrs[(self.cls, tgt.attr)] = t
                return
            self.typeof(tgt, g)  # an attribute write on a TensorRT object is a use
        elif isinstance(tgt, ast.Attribute):
            self.typeof(tgt, g)
        elif isinstance(tgt, (ast.Tuple, ast.List)):
            for e in tgt.elts:
                self.bind(e, None, None, g)

    def function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, g: frozenset[str]) -> None:
        inner = Scope(self.an, self.where, self.cls, self)
        inner.func = fn.name
        args = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
        self.an.positional.setdefault(fn.name, [a for a in args if a != "self"])
        for a in args:
            if a in ("trt", "tensorrt"):
                inner.vars[a] = ("module",)
            elif (fn.name, a) in self.an.params:
                inner.vars[a] = self.an.params[(fn.name, a)]
            else:
                inner.vars.pop(a, None)
        for d in fn.args.defaults + fn.args.kw_defaults:
            self.typeof(d, g)
        inner.block(fn.body, g)

    def classdef(self, cls: ast.ClassDef, g: frozenset[str]) -> None:
        trt_bases = [self.typeof(b, g) for b in cls.bases]
        guard = set(g)
        for b in cls.bases:
            if isinstance(b, ast.Name) and b.id in self.optional:
                guard.add(self.optional[b.id])
        parent = next((t[1] for t in trt_bases if t and t[0] == "class"), None)
        body_scope = Scope(self.an, self.where, None if parent else cls.name, self)
        for st in cls.body:
            if parent and isinstance(st, ast.FunctionDef) and not st.name.startswith("_"):
                # An override TensorRT calls: it must exist on the base class.
                self.use(f"{parent}.{st.name}", frozenset(guard), st)
            body_scope.stmt(st, frozenset(guard))


def _exits(st: ast.stmt) -> bool:
    return isinstance(st, (ast.Raise, ast.Return, ast.Continue, ast.Break))


def analyse(sources: dict[str, str]) -> Analysis:
    """Run the checker over ``{where: source}`` (a few passes to settle inferred types)."""
    an = Analysis()
    trees = {w: ast.parse(s) for w, s in sources.items()}
    for _ in range(3):
        an.uses, an.untyped, an.guard_names = [], [], []
        for where, tree in trees.items():
            Scope(an, where, None).block(tree.body, frozenset())
    return an


def violations(an: Analysis, names: dict[str, set[str]]) -> list[str]:
    bad = []
    union = set().union(*names.values())
    for u in an.uses + an.guard_names:
        if u.pair not in union:
            bad.append(f"{u.where}: {u.pair} exists in no supported TensorRT")
    for u in an.uses:
        for v, have in names.items():
            if u.pair in have or u.pair not in union:
                continue
            if any(gp not in have for gp in u.guards):
                continue  # the guard is false on this version: the branch is not taken
            why = f"guarded only by {sorted(u.guards)}" if u.guards else "unguarded"
            bad.append(f"{u.where}: {u.pair} is missing from TensorRT {v} ({why})")
    return sorted(set(bad))


def project_sources() -> dict[str, str]:
    return {
        str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "mmnet_edge").rglob("*.py"))
    }


# ------------------------------------------------------------------------------ tests


def test_lists_are_class_member_pairs_with_the_known_version_split():
    names = load_names()
    for v, pairs in names.items():
        assert all("." in p for p in pairs), v
        assert len(pairs) > 1500, v  # the whole API, not a handful
    # TensorRT 11 removed the precision flags, implicit calibrators and EXPLICIT_BATCH.
    for pair in (
        "BuilderFlag.FP16",
        "BuilderFlag.INT8",
        "tensorrt.IInt8EntropyCalibrator2",
        "IBuilderConfig.int8_calibrator",
        "IBuilderConfig.set_calibration_profile",
        "NetworkDefinitionCreationFlag.EXPLICIT_BATCH",
    ):
        assert pair in names["8.6"] and pair in names["10.3"] and pair in names["10.16"], pair
        assert pair not in names["11.1"], pair
    # Strongly typed networks arrived in 10.0.
    assert "NetworkDefinitionCreationFlag.STRONGLY_TYPED" not in names["8.6"]
    assert all("NetworkDefinitionCreationFlag.STRONGLY_TYPED" in names[v] for v in SUPPORTED[1:])
    # The name-based I/O API and version compatibility exist everywhere the SDK runs.
    for pair in (
        "IExecutionContext.execute_async_v3",
        "IExecutionContext.set_input_shape",
        "IExecutionContext.set_tensor_address",
        "ICudaEngine.get_tensor_profile_shape",
        "ICudaEngine.num_io_tensors",
        "IBuilderConfig.set_memory_pool_limit",
        "Runtime.engine_host_code_allowed",
        "Logger.WARNING",  # inherited from ILogger, exported from its Severity enum
    ):
        assert pair in names["8.6"] and pair in names["11.1"], pair
    # Inherited from IInt8Calibrator while the calibrators existed.
    assert "IInt8EntropyCalibrator2.get_batch" in names["10.16"]


def test_checker_flags_unguarded_and_accepts_guarded_uses():
    src = textwrap.dedent(
        """
        import tensorrt as trt

        def detect_features(trt):
            return Feats(precision_flags=hasattr(trt.BuilderFlag, "FP16"))

        def make_config(trt):
            return trt.Builder(trt.Logger(trt.Logger.WARNING)).create_builder_config()

        def build(options):
            feats = detect_features(trt)
            config = make_config(trt)
            config.set_flag(trt.BuilderFlag.FP16)              # line 13: unguarded
            if feats.precision_flags:
                config.set_flag(trt.BuilderFlag.INT8)          # guarded by FP16's test
            if not feats.precision_flags:
                raise RuntimeError("no flags")
            config.int8_calibrator = None                       # after the raise: guarded
            base = getattr(trt, "IInt8EntropyCalibrator2", None)
            if base is None:
                return None
            class Calib(base):
                def get_batch_size(self):
                    return 1
                def not_a_trt_method(self):
                    return 2
            config.set_calibration_profile(None)                # guarded by the `is None` exit
            config.execute_async_v3(0)                          # not an IBuilderConfig member
        """
    )
    an = analyse({"snippet.py": src})
    bad = violations(an, load_names())
    assert an.features == {"precision_flags": {"BuilderFlag.FP16"}}
    assert bad == [
        "snippet.py:13: BuilderFlag.FP16 is missing from TensorRT 11.1 (unguarded)",
        "snippet.py:25: IInt8EntropyCalibrator2.not_a_trt_method exists in no supported TensorRT",
        "snippet.py:28: IBuilderConfig.execute_async_v3 exists in no supported TensorRT",
    ]
    pairs = {u.pair for u in an.uses}
    assert {
        "tensorrt.Builder",
        "Logger.WARNING",
        "Builder.create_builder_config",  # through the helper's inferred return type
        "IBuilderConfig.set_flag",
        "IBuilderConfig.int8_calibrator",
        "IInt8EntropyCalibrator2.get_batch_size",
    } <= pairs


def test_guard_must_cover_the_version_that_lacks_the_member():
    # STRONGLY_TYPED's guard does not make FP16 safe on 11.1: the flag exists there.
    src = textwrap.dedent(
        """
        def f(trt):
            if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
                trt.BuilderFlag.FP16
        """
    )
    bad = violations(analyse({"s.py": src}), load_names())
    assert bad == [
        "s.py:4: BuilderFlag.FP16 is missing from TensorRT 11.1 "
        "(guarded only by ['NetworkDefinitionCreationFlag.STRONGLY_TYPED'])"
    ]


def test_project_uses_only_tensorrt_members_its_guards_allow():
    an = analyse(project_sources())
    bad = violations(an, load_names())
    assert bad == [], "TensorRT API misuse:\n" + "\n".join(bad)


def test_every_tensorrt_object_has_a_known_type():
    an = analyse(project_sources())
    assert an.untyped == [], (
        "attribute used on the result of a TensorRT call whose type the checker does not "
        "know; add it to RETURNS:\n" + "\n".join(an.untyped)
    )


def test_checker_sees_the_tensorrt_paths_of_the_project():
    """If inference lost track of an object (a refactor), these would silently vanish."""
    an = analyse(project_sources())
    pairs = {u.pair for u in an.uses}
    files = {u.where.split(":")[0] for u in an.uses}
    assert {
        "mmnet_edge/export/engine_build.py",
        "mmnet_edge/export/engine_options.py",
        "mmnet_edge/runtime/trt_runner.py",
        "mmnet_edge/calibration/legacy.py",
    } <= files, files
    assert {
        "tensorrt.Builder",
        "Builder.create_network",
        "Builder.create_builder_config",
        "IBuilderConfig.set_memory_pool_limit",
        "BuilderFlag.FP16",
        "OnnxParser.parse_from_file",
        "IOptimizationProfile.set_shape",
        "Runtime.deserialize_cuda_engine",
        "ICudaEngine.create_execution_context",
        "IExecutionContext.set_input_shape",
        "IExecutionContext.set_tensor_address",
        "IExecutionContext.execute_async_v3",
        "tensorrt.IInt8EntropyCalibrator2",
        "IInt8EntropyCalibrator2.get_batch",
    } <= pairs, sorted(pairs)
    # Feature detection was read, and each feature names the members it tests.
    assert an.features["precision_flags"] == {"BuilderFlag.FP16", "BuilderFlag.INT8"}
    assert an.features["implicit_calibrators"] == {"tensorrt.IInt8EntropyCalibrator2"}


def test_trt_attribute_chains_in_the_source_are_all_checked():
    """Every literal ``trt.<Name>[.<member>]`` chain in mmnet_edge/ is among the checked uses."""
    an = analyse(project_sources())
    checked = {(u.where, u.pair) for u in an.uses}
    missing = []
    for where, src in project_sources().items():
        for node in ast.walk(ast.parse(src)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("trt", "tensorrt")
            ):
                pair = f"tensorrt.{node.attr}"
                if (f"{where}:{node.lineno}", pair) not in checked:
                    missing.append(f"{where}:{node.lineno} {pair}")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in ("trt", "tensorrt")
            ):
                pair = f"{node.value.attr}.{node.attr}"
                if (f"{where}:{node.lineno}", pair) not in checked:
                    missing.append(f"{where}:{node.lineno} {pair}")
    assert missing == [], "unchecked TensorRT attribute chains:\n" + "\n".join(missing)
