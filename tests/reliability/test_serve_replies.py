"""``mmnet-edge serve`` answers a bad request 400 in its own reply, never a 500 (issue 23).

PyTriton turns a raised error into Triton's INTERNAL (HTTP 500) for every request of the
batch, so the models refuse the request's own faults in their ``status``/``error`` outputs.
These tests run the bound functions in process, without PyTriton (the main environment has
none): the mapping, the pair model and the batched tensor model.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mmnet_edge.errors import (
    AlignmentError,
    BackendExecutionError,
    DetectorUnavailableError,
    InputError,
    NoFaceError,
)
from mmnet_edge.runtime.runner import RunnerClosedError
from mmnet_edge.serve.replies import (
    BAD_REQUEST,
    OK,
    ErrorReply,
    raise_reply,
    reply_for,
    status_of,
)
from tests.reliability.serve_in_process import in_process_server


@pytest.fixture()
def server(tiny_onnx):
    srv = in_process_server(tiny_onnx, align=False)
    yield srv
    srv.stop()


def png(image: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return np.array([buf.tobytes()], dtype=object)


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    onset = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    apex = onset.copy()
    apex[30:60, 30:60] = rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)
    return onset, apex  # RGB


def test_which_errors_are_the_requests_fault():
    assert status_of(InputError("x")) == BAD_REQUEST
    assert status_of(NoFaceError("x")) == status_of(AlignmentError("x")) == BAD_REQUEST
    # the server's own failures stay server errors (Triton answers INTERNAL / 500)
    for exc in (
        DetectorUnavailableError("no detector"),
        RunnerClosedError("closed by shutdown"),
        BackendExecutionError("CUDA"),
        RuntimeError("bug"),
        MemoryError(),
    ):
        assert status_of(exc) is None and reply_for(exc) is None
    reply = reply_for(NoFaceError("no face found in the reference frame"))
    assert reply == ErrorReply(400, "NoFaceError", "no face found in the reference frame")
    assert ErrorReply.from_bytes(reply.to_bytes()) == reply
    assert reply_for(RunnerClosedError.__base__("bad")).type == "InputError"


def test_the_client_raises_the_typed_error_a_reply_carries():
    raise_reply(OK, b"", "mmnet_pair")  # a good reply raises nothing
    with pytest.raises(NoFaceError, match=r"refused the request to mmnet_pair \(400\): no face"):
        raise_reply(400, reply_for(NoFaceError("no face")).to_bytes(), "mmnet_pair")
    with pytest.raises(InputError, match="cannot decode"):
        raise_reply(400, reply_for(InputError("onset: cannot decode")).to_bytes(), "mmnet_pair")
    with pytest.raises(InputError, match="not json"):
        raise_reply(400, b"not json", "mmnet")


def test_bad_pair_requests_get_400_in_their_own_reply(server, frames):
    onset, apex = frames
    grey = cv2.cvtColor(apex, cv2.COLOR_RGB2GRAY)
    bad = {
        "cannot decode": {
            "onset_image": np.array([b"not an image"], object),
            "apex_image": png(apex),
        },
        "as images or both as pixels": {"onset_image": png(onset), "apex_pixels": apex},
        "send onset_image": {"apex_pixels": apex},
        "sizes differ": {"onset_pixels": onset, "apex_pixels": apex[:100]},
        "grey but": {"onset_pixels": onset, "apex_pixels": cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)},
    }
    good = {"onset_pixels": onset, "apex_pixels": apex}
    replies = server._pair_function()([*bad.values(), good])  # one execution, many requests
    for (match, _), reply in zip(bad.items(), replies):
        assert reply["status"].tolist() == [400]
        err = ErrorReply.from_bytes(reply["error"][0])
        assert err.type == "InputError" and match in err.message, (match, err)
        assert reply["index"].tolist() == [-1] and np.isnan(reply["logits"]).all()
    ok = replies[-1]  # the good request of the same execution is answered normally
    assert ok["status"].tolist() == [200] and ok["error"].tolist() == [b""]
    want = server._runtime.predict(onset, apex, color="rgb").logits
    np.testing.assert_allclose(ok["logits"], want, atol=1e-5)


def test_a_server_fault_is_still_raised(server, frames):
    """Only the request's own faults become a 400; a backend failure stays a server error."""

    def broken(onset, apex):
        raise BackendExecutionError("TensorRT enqueue failed")

    server._run_through_tensor_model = broken
    with pytest.raises(BackendExecutionError):
        server._pair_function()([{"onset_pixels": frames[0], "apex_pixels": frames[1]}])


def test_a_nan_tensor_fails_only_its_own_request_of_a_batch(server):
    rng = np.random.default_rng(0)
    good = rng.standard_normal((2, 3, 112, 112)).astype(np.float32)
    nan = good[:1].copy()
    nan[0, 1, 7, 7] = np.nan
    other = rng.standard_normal((1, 3, 112, 112)).astype(np.float32)
    requests = [
        {"onset": good, "apex": good[::-1].copy()},
        {"onset": good[:1], "apex": nan},  # one camera's broken tensor
        {"onset": other, "apex": other},
    ]
    replies = server._tensor_function()(requests)
    assert [r["status"].ravel().tolist() for r in replies] == [[200, 200], [400], [200]]
    err = ErrorReply.from_bytes(replies[1]["error"][0, 0])
    assert err.type == "InputError" and "apex tensor contains NaN/Inf" in err.message
    assert np.isnan(replies[1]["logits"]).all()
    rt = server._runtime
    np.testing.assert_allclose(
        replies[0]["logits"], rt.run_tensors(good, good[::-1].copy()), atol=1e-5
    )
    np.testing.assert_allclose(replies[2]["logits"], rt.run_tensors(other, other), atol=1e-5)
    assert server.stats.batch_sizes == [3]  # the good pairs still ran as one batch


def test_no_face_is_a_400_not_a_500(tiny_onnx, detector_model_path):
    server = in_process_server(tiny_onnx, align=True, detector=str(detector_model_path))
    try:
        blank = np.full((240, 320, 3), 128, np.uint8)
        (reply,) = server._pair_function()([{"onset_pixels": blank, "apex_pixels": blank}])
    finally:
        server.stop()
    assert reply["status"].tolist() == [400]
    assert ErrorReply.from_bytes(reply["error"][0]).type == "NoFaceError"
