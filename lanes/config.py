"""``lanes.yml`` version 1: the validated configuration and how it is loaded.

Parsing lives in ``lanes.config_parse`` (PyYAML) and loading in ``lanes.config_load``: a parsed
configuration is cached as JSON under the hash of its text, so a warm run does not import YAML
at all. This module imports neither (the cache and the parser import it).
"""

import errno
import os
import stat
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from lanes.digest import sha256
from lanes.model import StrPath

MAX_CONFIG_BYTES = 1 << 20
DISCOVER_KINDS = ("cargo", "python", "npm")
Unmatched = Literal["all", "none", "error"]
_NOTHING: Mapping[str, Any] = MappingProxyType({})
RESERVED_OUTPUTS = ("mode", "lanes", "matrix", "reasons", "diff", "flags", "count")
"""``$GITHUB_OUTPUT`` names lanes writes itself; a lane of that name would be overwritten.
GitHub compares output names case-insensitively, so ``Mode`` is reserved too."""


class ConfigError(Exception):
    """An invalid configuration, located at ``file:line:column`` (1-based)."""

    def __init__(self, file: str, line: int, column: int, key: str, expected: str) -> None:
        self.file, self.line, self.column, self.key, self.expected = (
            file,
            line,
            column,
            key,
            expected,
        )
        where = f"{file}:{line}:{column}" if line else file
        super().__init__(f"{where}: {key}: {expected}" if key else f"{where}: {expected}")


class ComponentSpec(NamedTuple):
    name: str
    paths: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    dev_depends_on: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


IncludeDev = bool | Literal["roots"]
Selector = Literal["default", "all", "none"] | tuple[str, ...]


class LaneSpec(NamedTuple):
    """One lane. What its build compiles and installs is resolved by ``lanes.features``:

    * ``include_dev``: ``True`` (default) builds the roots' dev-dependencies (Cargo, Python: one
      hop) and, in JS workspaces, every package's devDependencies (a package is built with them
      before its dependents consume it); ``"roots"`` only the roots' own; ``False`` none.
    * ``features``: the Cargo features the roots are built with: ``default``, ``all``, ``none``
      or a list of root features and ``crate/feature`` entries (``include_optional: true`` in the
      file means ``all``, ``false`` means ``none``).
    * ``extras`` and ``groups``: the roots' own Python extras and dependency groups installed:
      ``all`` (default), ``none`` or a list.
    """

    name: str
    roots: tuple[str, ...] = ()
    description: str = ""
    include_dev: IncludeDev = True
    features: Selector = "default"
    paths: tuple[str, ...] = ()
    run: str | None = None
    extras: Selector = "all"
    groups: Selector = "all"


class Contract(NamedTuple):
    """``exists`` is what the contract claims about ``path``: a tracked file (or a path a glob
    of the configuration names), or, with ``exists: false``, deliberately none."""

    path: str
    selects: tuple[str, ...] = ()
    not_selects: tuple[str, ...] = ()
    line: int = 0
    exists: bool = True


class Config(NamedTuple):
    """A validated configuration. ``marks`` maps dotted keys to their (line, column).

    Named tuples, not dataclasses, because a warm run builds these from the cache on start-up
    (see ``lanes.model``)."""

    file: str = "lanes.yml"
    version: int = 1
    discover: tuple[str, ...] | None = None
    components: Mapping[str, ComponentSpec] = _NOTHING
    global_paths: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    lanes: Mapping[str, LaneSpec] = _NOTHING
    unmatched: Unmatched = "all"
    contracts: tuple[Contract, ...] = ()
    # Directories of uv workspaces (or uv projects) committed without a uv.lock for which the
    # user states that no third-party package requires one of their projects ("" is the top).
    third_party_never_requires_local: tuple[str, ...] = ()
    digest: str = ""
    marks: Mapping[str, tuple[int, int]] = _NOTHING

    def mark(self, key: str) -> tuple[int, int]:
        return self.marks.get(key, (0, 0))

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["components"] = {n: c._asdict() for n, c in self.components.items()}
        data["lanes"] = {n: lane._asdict() for n, lane in self.lanes.items()}
        data["contracts"] = [c._asdict() for c in self.contracts]
        data["marks"] = dict(self.marks)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Config":
        def tup(value: Any) -> tuple[str, ...]:
            return tuple(value)

        return cls(
            file=data["file"],
            version=data["version"],
            discover=None if data["discover"] is None else tup(data["discover"]),
            components={
                n: ComponentSpec(
                    n,
                    tup(c["paths"]),
                    tup(c["depends_on"]),
                    tup(c["dev_depends_on"]),
                    tup(c["exclude"]),
                )
                for n, c in data["components"].items()
            },
            global_paths=tup(data["global_paths"]),
            ignore=tup(data["ignore"]),
            lanes={
                n: LaneSpec(
                    n,
                    tup(v["roots"]),
                    v["description"],
                    v["include_dev"],
                    _selector(v["features"]),
                    tup(v["paths"]),
                    v["run"],
                    _selector(v["extras"]),
                    _selector(v["groups"]),
                )
                for n, v in data["lanes"].items()
            },
            unmatched=data["unmatched"],
            contracts=tuple(
                Contract(
                    c["path"],
                    tup(c["selects"]),
                    tup(c["not_selects"]),
                    c["line"],
                    c.get("exists", True),
                )
                for c in data["contracts"]
            ),
            third_party_never_requires_local=tup(data["third_party_never_requires_local"]),
            digest=data["digest"],
            marks={k: (v[0], v[1]) for k, v in data["marks"].items()},
        )


def _selector(value: Any) -> Selector:
    selector: Selector = tuple(value) if isinstance(value, list) else value
    return selector


def read_config(path: StrPath, display: str | None = None) -> tuple[str, str]:
    """The text of ``path`` and the SHA-256 of its bytes; errors name ``display`` (default: the
    path as given). Parsing and caching: :mod:`lanes.config_load`."""
    name = display or os.fspath(path)
    return decode_config(read_config_bytes(path, name), name)


def decode_config(data: bytes, name: str) -> tuple[str, str]:
    """The text of a configuration's bytes (UTF-8 or a :class:`ConfigError` naming ``name``)
    and their SHA-256."""
    _check_size(data, name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(data, error.start)
        raise ConfigError(
            name, line, column, "", f"not UTF-8 (byte 0x{data[error.start]:02x}); expected UTF-8"
        ) from None
    return text, sha256(data).hexdigest()


def _check_size(data: bytes, name: str) -> None:
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(name, 0, 0, "", f"file larger than {MAX_CONFIG_BYTES} bytes")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte ``offset``."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_config_bytes(path: StrPath, name: str) -> bytes:
    """The bytes of a configuration file that exists. Anything but a regular file (a dangling
    symbolic link, a loop, a directory, a FIFO, a device) is a :class:`ConfigError`, never
    "absent": its lanes would vanish. Opened non-blocking, so a FIFO cannot hang the run."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise ConfigError(name, 0, 0, "", _open_problem(path, error)) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
        raise ConfigError(name, 0, 0, "", f"is {kind}; expected a regular YAML file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)  # enough to tell it is too large
        except OSError as error:
            raise ConfigError(name, 0, 0, "", f"cannot read: {error.strerror or error}") from None
    _check_size(data, name)
    return data


def _open_problem(path: StrPath, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "is a symbolic link loop; expected a regular YAML file"
    if error.errno == errno.ENOENT and os.path.islink(path):
        return f"is a dangling symbolic link (to {os.readlink(path)}); expected a regular file"
    return f"cannot read: {error.strerror or error}"
