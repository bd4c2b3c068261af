"""Playing the Pulumi engine's part in tests, two ways.

``ProviderServer`` + ``Stack``: the real dynamic-provider server shipped in the Pulumi SDK
(``python -m pulumi.dynamic``, what the ``pulumi-resource-pulumi-python`` plugin runs), driven
over gRPC with the RPC sequences of pulumi-dynamic-notes §1.3: preview = Check (+ Diff),
up = Check → Create or Check → Diff → Update, refresh = Read, destroy = Delete. Properties go
on the wire through the SDK's own ``rpc.serialize_properties``, ``__provider`` comes from the
SDK's ``serialize_provider``, unknowns travel as ``rpc.UNKNOWN`` and secrets are sent in
plaintext (the server answers ``acceptSecrets=False``) while the stack tracks which keys are
secret the way the engine does (``annotateSecrets`` + ``additional_secret_outputs``).

``ForwardingMocks``: ``pulumi.runtime.Mocks`` that hand dynamic resources to their real
provider (check then create, or check only in preview), so programs under ``set_mocks``
really migrate databases.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import dill
import grpc
import pulumi
from google.protobuf import empty_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.diff_display import Secret
from tests.diff_display import render as render_step

UNKNOWN = rpc.UNKNOWN
PROVIDER_KEY = "__provider"
DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
DIFF_UNKNOWN = provider_pb2.DiffResponse.DIFF_UNKNOWN
_SECRET_MARK = "[secret]"


class CheckFailed(Exception):
    """Check returned failures (the engine would stop the preview or update)."""

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        super().__init__("; ".join(f"{p}: {r}" for p, r in failures))


class ProviderError(Exception):
    """A provider method raised; ``details`` is the traceback the engine would show."""

    def __init__(self, method: str, details: str):
        self.method = method
        self.details = details
        lines = [ln for ln in details.strip().splitlines() if ln.strip()]
        self.last_line = lines[-1] if lines else ""
        super().__init__(f"{method}: {self.last_line}")


def _loop_run(coro: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def to_struct(props: dict[str, Any]) -> Any:
    """A dict → protobuf Struct, exactly as the SDK serializes properties."""
    return _loop_run(rpc.serialize_properties(props, {}))


def from_struct(struct: Any, keep_unknowns: bool = True) -> dict[str, Any]:
    """A protobuf Struct → dict (unknowns as ``pulumi.output.Unknown`` when ``keep_unknowns``)."""
    return rpc.deserialize_properties(struct, keep_unknowns)


def _wire(value: Any) -> Any:
    """Unknown instances back to the wire sentinel (for display and comparisons)."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


class ProviderServer:
    """The SDK's dynamic-provider server in a subprocess, plus a connected stub.

    ``out``/``err`` collect the server's stdout/stderr lines (the provider's prints).
    """

    def __init__(self, cwd: Path, project: str = "proj", config: dict[str, Any] | None = None):
        env = dict(os.environ)
        env["PULUMI_PROJECT"] = project
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:1"],
            cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        port_line = self.proc.stdout.readline().decode().strip()
        if not port_line.isdigit():
            self.proc.kill()
            raise RuntimeError(f"provider server did not print its port: {port_line!r}")
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True).start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{int(port_line)}")
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.GetPluginInfo(empty_pb2.Empty())
        self.stub.Configure(provider_pb2.ConfigureRequest(
            args=to_struct({f"{project}:{k}": v for k, v in (config or {}).items()}),
            acceptSecrets=True, acceptResources=True))

    @staticmethod
    def _drain(stream: Any, sink: list[str]) -> None:
        for line in iter(stream.readline, b""):
            sink.append(line.decode(errors="replace").rstrip())

    def logs(self, settle: float = 0.2) -> str:
        """Everything the server printed so far (after a short wait for the pipes)."""
        time.sleep(settle)
        return "\n".join(self.out + self.err)

    def call(self, method: str, request: Any) -> Any:
        """Call one RPC; a provider exception becomes ProviderError."""
        try:
            return getattr(self.stub, method)(request)
        except grpc.RpcError as err:
            raise ProviderError(method, err.details() or str(err)) from None

    def close(self) -> None:
        """Stop the server process (this process started it)."""
        self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class ResourceState:
    """What the engine keeps in its checkpoint for one resource."""
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)
    secret_outputs: set[str] = field(default_factory=set)


@dataclass
class Step:
    """The outcome of one resource in a preview/up: op is create, update, same or replace."""
    op: str
    inputs: dict[str, Any]                      # checked inputs (Unknowns as rpc.UNKNOWN)
    outputs: dict[str, Any] | None = None       # after up; None in preview
    diff: int | None = None                     # DiffResponse.changes for existing resources
    old_inputs: dict[str, Any] | None = None
    secrets: set[str] = field(default_factory=set)
    type: str = ""
    urn: str = ""
    id: str | None = None

    def render(self) -> str:
        """The text ``pulumi preview --diff`` prints for this step (``tests.diff_display``):
        old inputs against the checked new inputs, secrets as ``[secret]``."""
        def held(props: dict[str, Any] | None) -> dict[str, Any] | None:
            if props is None:
                return None
            return {k: (Secret(v) if k in self.secrets else v) for k, v in props.items()}
        new = held(self.inputs)
        assert new is not None
        return render_step(self.op, self.type, self.urn, self.id, held(self.old_inputs), new)

    def display(self) -> str:
        """What ``pulumi preview --diff`` prints for this resource: old vs new inputs,
        ``__``-keys hidden, secrets masked."""
        def shown(props: dict[str, Any] | None) -> dict[str, Any]:
            return {k: (_SECRET_MARK if k in self.secrets else v)
                    for k, v in (props or {}).items() if not k.startswith("__")}
        return json.dumps({"op": self.op, "old": shown(self.old_inputs), "new": shown(self.inputs)},
                          sort_keys=True, default=str)


class Stack:
    """One stack's resources, driven through a ProviderServer like the engine does.

    ``inputs`` passed to preview/up are what the program registered (without ``__provider``);
    ``secrets`` names the input keys the program marked secret and ``additional_secret_outputs``
    the extra output keys, as with ``ResourceOptions``.
    """

    def __init__(self, server: ProviderServer, project: str = "proj", stack: str = "dev"):
        self.server = server
        self.project = project
        self.stack = stack
        self.resources: dict[str, ResourceState] = {}

    def urn(self, name: str, type_: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    # --- operations -----------------------------------------------------------------------

    def preview(self, name: str, type_: str, provider: Any, inputs: dict[str, Any],
                secrets: Iterable[str] = ()) -> Step:
        """Check (and Diff for an existing resource). Never Create/Update."""
        return self._step(name, type_, provider, inputs, set(secrets), set(), preview=True)

    def up(self, name: str, type_: str, provider: Any, inputs: dict[str, Any],
           secrets: Iterable[str] = (), additional_secret_outputs: Iterable[str] = ()) -> Step:
        """Check → Create, or Check → Diff → Update when the diff says so."""
        return self._step(name, type_, provider, inputs, set(secrets),
                          set(additional_secret_outputs), preview=False)

    def refresh(self, name: str) -> ResourceState | None:
        """Read; an empty id drops the resource. Returns the new state (or None when gone)."""
        st = self.resources[name]
        resp = self.server.call("Read", provider_pb2.ReadRequest(
            id=st.id, urn=self.urn(name, st.type), properties=to_struct(st.outputs),
            inputs=to_struct(st.inputs)))
        if not resp.id:
            del self.resources[name]
            return None
        st.outputs = from_struct(resp.properties, False)
        if resp.HasField("inputs"):
            st.inputs = from_struct(resp.inputs, False)
        st.secret_outputs = self._annotate(st.outputs, st.secret_inputs) | (
            st.secret_outputs & set(st.outputs))
        return st

    def destroy(self, name: str) -> None:
        """Delete with the state's outputs (and its ``__provider``), then forget the resource."""
        st = self.resources.pop(name)
        self.server.call("Delete", provider_pb2.DeleteRequest(
            id=st.id, urn=self.urn(name, st.type), properties=to_struct(st.outputs),
            old_inputs=to_struct(st.inputs)))

    def checkpoint(self) -> str:
        """The stack's state as the engine would write it: secret values encrypted."""
        def enc(props: dict[str, Any], secret: set[str]) -> dict[str, Any]:
            return {k: ({rpc._special_sig_key: rpc._special_secret_sig,
                         "ciphertext": "v1:" + base64.b64encode(os.urandom(12)).decode()}
                        if k in secret else v) for k, v in props.items()}
        doc = {name: {"type": st.type, "id": st.id,
                      "inputs": enc(st.inputs, st.secret_inputs),
                      "outputs": enc(st.outputs, st.secret_outputs)}
               for name, st in self.resources.items()}
        return json.dumps(doc, sort_keys=True, default=str)

    # --- internals ------------------------------------------------------------------------

    @staticmethod
    def _annotate(outs: dict[str, Any], secret_inputs: set[str]) -> set[str]:
        """The engine's annotateSecrets: an output is secret when a secret input has its key."""
        return {k for k in outs if k in secret_inputs}

    def _check(self, name: str, type_: str, olds: dict[str, Any] | None,
               news: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        resp = self.server.call("Check", provider_pb2.CheckRequest(
            urn=self.urn(name, type_), olds=to_struct(olds or {}), news=to_struct(news),
            randomSeed=b"\0" * 32))
        if resp.failures:
            raise CheckFailed([(f.property, f.reason) for f in resp.failures])
        return resp.inputs, _wire(from_struct(resp.inputs, True))

    def _step(self, name: str, type_: str, provider: Any, inputs: dict[str, Any],
              secrets: set[str], extra_secret: set[str], *, preview: bool) -> Step:
        news = dict(inputs)
        news[PROVIDER_KEY] = provider if isinstance(provider, str) else serialize_provider(provider)
        old = self.resources.get(name)
        checked_struct, checked = self._check(name, type_, old.inputs if old else {}, news)
        secret_inputs = self._annotate(checked, secrets)
        urn = self.urn(name, type_)
        shown = {"type": type_, "urn": urn}
        if old is None:
            if preview:
                return Step("create", checked, secrets=secret_inputs, **shown)
            self._no_unknowns(checked)
            resp = self.server.call("Create", provider_pb2.CreateRequest(
                urn=urn, properties=checked_struct, timeout=300, preview=False))
            outs = from_struct(resp.properties, False)
            self.resources[name] = ResourceState(
                type_, resp.id, from_struct(checked_struct, False), outs, secret_inputs,
                self._annotate(outs, secret_inputs) | (extra_secret & set(outs)))
            return Step("create", checked, outputs=outs, secrets=secret_inputs, **shown)
        diff = self.server.call("Diff", provider_pb2.DiffRequest(
            id=old.id, urn=urn, olds=to_struct(old.outputs), news=checked_struct,
            old_inputs=to_struct(old.inputs)))
        changes = diff.changes
        if changes == DIFF_UNKNOWN:  # the engine then compares old and new inputs itself
            changes = DIFF_SOME if old.inputs != checked else DIFF_NONE
        op = "update" if changes == DIFF_SOME else "same"
        if diff.replaces:
            op = "replace"
        step = Step(op, checked, diff=diff.changes, old_inputs=dict(old.inputs),
                    secrets=secret_inputs | old.secret_inputs, id=old.id, **shown)
        if preview:
            return step
        self._no_unknowns(checked)
        if op == "same":
            old.inputs, old.secret_inputs = from_struct(checked_struct, False), secret_inputs
            step.outputs = old.outputs
            return step
        if op == "replace":
            raise NotImplementedError("the harness does not model replacements")
        resp = self.server.call("Update", provider_pb2.UpdateRequest(
            id=old.id, urn=urn, olds=to_struct(old.outputs), news=checked_struct,
            old_inputs=to_struct(old.inputs), timeout=300, preview=False))
        outs = from_struct(resp.properties, False)
        old.inputs, old.outputs = from_struct(checked_struct, False), outs
        old.secret_inputs = secret_inputs
        old.secret_outputs = self._annotate(outs, secret_inputs) | (extra_secret & set(outs))
        step.outputs = outs
        return step

    @staticmethod
    def _no_unknowns(props: dict[str, Any]) -> None:
        bad = [k for k, v in props.items() if v == UNKNOWN]
        if bad:
            raise AssertionError(f"the engine never sends unknown inputs to up: {bad}")


# --- set_mocks ------------------------------------------------------------------------------------


def _unwrap(value: Any) -> tuple[Any, bool]:
    """Remove secret wrappers (recursively); return the value and whether any was secret."""
    if rpc.is_rpc_secret(value):
        inner, _ = _unwrap(rpc.unwrap_rpc_secret(value))
        return inner, True
    if isinstance(value, dict):
        secret = False
        out = {}
        for k, v in value.items():
            out[k], s = _unwrap(v)
            secret = secret or s
        return out, secret
    if isinstance(value, list):
        items = [_unwrap(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


class ForwardingMocks(pulumi.runtime.Mocks):
    """Mocks that run dynamic resources through their real provider.

    ``handlers`` maps other resource types to ``f(args) -> (id, state)`` (default: echo the
    inputs). Secret inputs are unwrapped before the provider sees them, as the engine does, and
    outputs sharing a secret input's key are wrapped again (the engine's annotateSecrets).
    ``registered`` keeps every MockResourceArgs by resource name; ``outputs`` the states.
    """

    def __init__(self, preview: bool = False,
                 handlers: dict[str, Callable[[pulumi.runtime.MockResourceArgs],
                                              tuple[str, dict[str, Any]]]] | None = None):
        self.preview = preview
        self.handlers = handlers or {}
        self.registered: dict[str, pulumi.runtime.MockResourceArgs] = {}
        self.outputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = args
        if args.typ.startswith("pulumi-python:dynamic"):
            id_, state = self._dynamic(args)
        elif args.typ in self.handlers:
            id_, state = self.handlers[args.typ](args)
        else:
            id_, state = f"{args.name}-id", dict(args.inputs)
        self.outputs[args.name] = state
        return id_, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def _dynamic(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        news: dict[str, Any] = {}
        secret_keys = set()
        for key, value in args.inputs.items():
            news[key], secret = _unwrap(value)
            if secret and key != PROVIDER_KEY:
                secret_keys.add(key)
        provider = dill.loads(base64.b64decode(news[PROVIDER_KEY]))
        result = provider.check({}, news)
        if result.failures:
            raise CheckFailed([(f.property, f.reason) for f in result.failures])
        checked = dict(result.inputs)
        if self.preview:
            return "", self._secret(checked, secret_keys)
        created = provider.create(checked)
        outs = dict(created.outs or {})
        return created.id or "", self._secret(outs, secret_keys)

    @staticmethod
    def _secret(outs: dict[str, Any], secret_keys: set[str]) -> dict[str, Any]:
        return {k: (rpc.wrap_rpc_secret(v) if k in secret_keys and v is not None else v)
                for k, v in outs.items() if not isinstance(v, pulumi.output.Unknown)}
