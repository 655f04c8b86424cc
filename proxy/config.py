"""Configuration: YAML -> schema check -> semantic checks -> frozen dataclasses.

Every problem is collected and reported as ``file:line: message`` (:class:`ConfigError`), so an
operator fixes a file in one pass. Relative paths are resolved against the configuration file's
directory. Secrets are never inline: only paths to files (keys, certificates).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from yarl import URL

from proxy.decoys.settings import DecoySettings, parse_decoys
from proxy.errors import ConfigError
from proxy.yamlsource import Source, load_yaml_file, schema_errors

DEFAULT_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
#: The interface schemas of the source tree civetta runs from (the repository's ``schemas/``):
#: the default of ``minimisation.schemas_dir``. An installed package has none there, so an
#: installation elsewhere names its directory or fails at start (see ``docs/operations.md``).
SOURCE_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
#: The built-in inbound route that carries TMF hub events back to the OSS's callbacks.
HUB_ROUTE = "hub-callbacks"
HUB_PREFIX = "/_civetta/hub/"


class Direction(enum.Enum):
    """Which way a route carries messages."""

    #: OSS -> incumbent, served on the OSS-facing listener.
    OUTBOUND = "outbound"
    #: incumbent -> OSS (notifications, callbacks), served on the incumbent-facing listener.
    INBOUND = "inbound"


class Protocol(enum.Enum):
    """The family of the interface: decides body formats and the shape of the proxy's errors."""

    SOAP = "soap"
    REST = "rest"


@dataclass(frozen=True, slots=True)
class ServerTls:
    """Inbound TLS for a listener; ``client_ca_file`` enables client-certificate checks."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    require_client_cert: bool = False


@dataclass(frozen=True, slots=True)
class Listener:
    """One listening socket."""

    name: str
    host: str
    port: int
    tls: ServerTls | None = None
    public_url: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamTls:
    """Outbound TLS: pinned CA bundle and the client certificate the upstream expects."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream timeouts in seconds; a timeout answers 504, never a retry."""

    connect_s: float = 5.0
    total_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Route:
    """Where requests under ``path_prefix`` go, and how strictly they are handled."""

    name: str
    direction: Direction
    protocol: Protocol
    path_prefix: str
    methods: frozenset[str]
    upstream: URL
    protected: bool = True
    max_body_bytes: int | None = None
    timeouts: Timeouts = Timeouts()
    tls: UpstreamTls | None = None

    def matches_path(self, path: str) -> bool:
        """Prefix match on a segment boundary (``/a/b`` matches ``/a/b`` and ``/a/b/c``, not ``/a/bc``)."""
        prefix = self.path_prefix
        if not path.startswith(prefix):
            return False
        return prefix.endswith("/") or len(path) == len(prefix) or path[len(prefix)] == "/"


@dataclass(frozen=True, slots=True)
class Limits:
    """Size and depth bounds applied to every message."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_response_bytes: int = 16 * 1024 * 1024
    max_xml_depth: int = 64


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Where ``civetta sandbox`` listens and how it behaves."""

    host: str = "127.0.0.1"
    port: int = 8090
    notify_delay_s: float = 0.5
    soap_callback_url: str | None = None
    schemas_dir: Path = Path("schemas")


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """The audit log's name, this replica's name and the group-commit tuning."""

    #: False only for benchmarks and development: it breaks "nothing unlogged leaves".
    enabled: bool = True
    origin: str = "civetta.local/audit-log"
    replica: str = "replica-1"
    linger_ms: float = 2.0
    max_batch: int = 256
    commit_timeout_s: float = 10.0
    #: A checkpoint held elsewhere (e.g. by a witness): start-up refuses a log behind it.
    checkpoint_file: Path | None = None


@dataclass(frozen=True, slots=True)
class MinimisationConfig:
    """Where the policies and the partner directory are, and what may always leave."""

    policies_dir: Path = Path("policies")
    partners_file: Path = Path("policies/partners.yaml")
    #: The OLO's own operational contacts (NOC, quarto referente): never flagged by the guard.
    operational_contacts: tuple[str, ...] = ()
    #: Reload policies when their files change (SIGHUP always reloads).
    watch: bool = True
    #: The interface schemas (WSDL/XSD, JSON Schemas) the policies are cross-checked against.
    schemas_dir: Path = SOURCE_SCHEMAS
    #: Cross-check the policies at start and on every reload. Off only by an explicit choice
    #: of the operator (logged as a warning at every start): a typo then passes unnoticed.
    crosscheck: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration, validated."""

    source: str
    oss: Listener
    incumbent: Listener
    admin: Listener
    routes: tuple[Route, ...]
    limits: Limits = Limits()
    storage_url: str = "sqlite:///var/civetta.db"
    keys_dir: Path = Path("var/keys")
    generate_keys: bool = True
    log_level: str = "info"
    log_format: str = "json"
    shutdown_timeout_s: float = 15.0
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    minimisation: MinimisationConfig = field(default_factory=MinimisationConfig)
    #: Decoy pools and contact classification (``decoys:``); None when not configured.
    decoys: DecoySettings | None = None

    @property
    def all_routes(self) -> tuple[Route, ...]:
        """The configured routes plus, when the incumbent-facing listener has a public URL,
        the built-in route for hub events (registrations are rewritten to come back there)."""
        if self.incumbent.public_url is None:
            return self.routes
        hub_route = Route(
            name=HUB_ROUTE,
            direction=Direction.INBOUND,
            protocol=Protocol.REST,
            path_prefix=HUB_PREFIX,
            methods=frozenset({"POST"}),
            upstream=URL("http://subscriber.invalid/"),
            protected=True,
        )
        return (*self.routes, hub_route)

    def routes_for(self, direction: Direction) -> tuple[Route, ...]:
        """Routes served on the listener of ``direction``, longest prefix first."""
        return tuple(
            sorted(
                (r for r in self.all_routes if r.direction is direction),
                key=lambda r: len(r.path_prefix),
                reverse=True,
            )
        )


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file (shipped in the package)."""
    text = resources.files("proxy.schemas").joinpath("config.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_config(path: Path) -> Config:
    """Load and validate ``path``; raise :class:`ConfigError` listing every problem."""
    source = load_yaml_file(path)
    if not isinstance(source.data, dict):
        raise ConfigError([f"{source.name}:1: expected a mapping at the top level"])
    errors = schema_errors(source, config_schema())
    if errors:
        raise ConfigError(errors)
    return _build(source, path.resolve().parent)


def _build(src: Source, base: Path) -> Config:
    errors: list[str] = []
    data: dict[str, Any] = src.data

    def file_path(value: str, where: tuple[str | int, ...], must_exist: bool = True) -> Path:
        p = Path(value)
        p = p if p.is_absolute() else base / p
        if must_exist and not p.is_file():
            errors.append(f"{src.where(where)}: expected a readable file, got a missing path")
        return p

    def listener(name: str) -> Listener:
        raw = data["listeners"][name]
        tls = None
        if "tls" in raw:
            t = raw["tls"]
            at = ("listeners", name, "tls")
            ca = t.get("client_ca_file")
            if t.get("require_client_cert") and ca is None:
                errors.append(f"{src.where(at)}: require_client_cert needs client_ca_file")
            tls = ServerTls(
                file_path(t["cert_file"], (*at, "cert_file")),
                file_path(t["key_file"], (*at, "key_file")),
                file_path(ca, (*at, "client_ca_file")) if ca else None,
                bool(t.get("require_client_cert", False)),
            )
        return Listener(
            name, raw.get("host", "127.0.0.1"), int(raw["port"]), tls, raw.get("public_url")
        )

    oss, incumbent, admin = (listener(n) for n in ("oss", "incumbent", "admin"))
    ports = [li.port for li in (oss, incumbent, admin) if li.port != 0]
    if len(set(ports)) != len(ports):
        errors.append(
            f"{src.where(('listeners',))}: expected distinct ports for oss, incumbent and admin"
        )

    routes: list[Route] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["routes"]):
        at: tuple[str | int, ...] = ("routes", i)
        if raw["name"] in seen:
            errors.append(
                f"{src.where((*at, 'name'))}: duplicate route name (first at route {seen[raw['name']]})"
            )
        seen[raw["name"]] = i
        tls = None
        if "tls" in raw:
            t = raw["tls"]
            if ("cert_file" in t) != ("key_file" in t):
                errors.append(f"{src.where((*at, 'tls'))}: cert_file and key_file go together")
            tls = UpstreamTls(
                file_path(t["ca_file"], (*at, "tls", "ca_file")) if "ca_file" in t else None,
                file_path(t["cert_file"], (*at, "tls", "cert_file")) if "cert_file" in t else None,
                file_path(t["key_file"], (*at, "tls", "key_file")) if "key_file" in t else None,
                t.get("server_hostname"),
            )
        upstream = URL(raw["upstream"])
        if tls is not None and upstream.scheme != "https":
            errors.append(f"{src.where((*at, 'tls'))}: tls settings need an https upstream")
        t_raw = raw.get("timeouts", {})
        routes.append(
            Route(
                name=raw["name"],
                direction=Direction(raw["direction"]),
                protocol=Protocol(raw["protocol"]),
                path_prefix=raw["path_prefix"],
                methods=frozenset(raw.get("methods", DEFAULT_METHODS)),
                upstream=upstream,
                protected=bool(raw.get("protected", True)),
                max_body_bytes=raw.get("max_body_bytes"),
                timeouts=Timeouts(
                    float(t_raw.get("connect_s", 5.0)), float(t_raw.get("total_s", 30.0))
                ),
                tls=tls,
            )
        )
    errors.extend(_overlaps(routes, src))

    limits_raw = data.get("limits", {})
    default = Limits()
    limits = Limits(
        int(limits_raw.get("max_body_bytes", default.max_body_bytes)),
        int(limits_raw.get("max_response_bytes", default.max_response_bytes)),
        int(limits_raw.get("max_xml_depth", default.max_xml_depth)),
    )
    sb = data.get("sandbox", {})
    sandbox = SandboxConfig(
        sb.get("host", "127.0.0.1"),
        int(sb.get("port", 8090)),
        float(sb.get("notify_delay_s", 0.5)),
        sb.get("soap_callback_url"),
        file_path(sb.get("schemas_dir", "schemas"), ("sandbox",), must_exist=False),
    )
    keys = data.get("keys", {})
    storage_url = data.get("storage", {}).get("url", "sqlite:///var/civetta.db")
    if not storage_url.startswith(("sqlite://", "memory://", "postgresql://", "postgres://")):
        errors.append(
            f"{src.where(('storage', 'url'))}: expected a sqlite://, postgresql:// or memory:// URL"
        )
    logging_raw = data.get("logging", {})
    au = data.get("audit", {})
    audit_default = AuditConfig()
    audit = AuditConfig(
        enabled=bool(au.get("enabled", True)),
        origin=au.get("origin", audit_default.origin),
        replica=au.get("replica", audit_default.replica),
        linger_ms=float(au.get("linger_ms", 2.0)),
        max_batch=int(au.get("max_batch", 256)),
        commit_timeout_s=float(au.get("commit_timeout_s", 10.0)),
        checkpoint_file=file_path(
            au["checkpoint_file"], ("audit", "checkpoint_file"), must_exist=False
        )
        if "checkpoint_file" in au
        else None,
    )
    mi = data.get("minimisation", {})
    # Where ``civetta policy check`` has always looked (the sandbox serves the same
    # interfaces) comes before the source tree's directory.
    schemas = mi.get("schemas_dir", sb.get("schemas_dir"))
    minimisation = MinimisationConfig(
        policies_dir=file_path(
            mi.get("policies_dir", "policies"), ("minimisation",), must_exist=False
        ),
        partners_file=file_path(
            mi.get("partners_file", "policies/partners.yaml"), ("minimisation",), must_exist=False
        ),
        operational_contacts=tuple(mi.get("operational_contacts", ())),
        watch=bool(mi.get("watch", True)),
        schemas_dir=SOURCE_SCHEMAS
        if schemas is None
        else file_path(schemas, ("minimisation",), must_exist=False),
        crosscheck=bool(mi.get("crosscheck", True)),
    )
    decoys = None
    if "decoys" in data:
        decoys, decoy_errors = parse_decoys(data["decoys"], src.where)
        errors.extend(decoy_errors)
    if errors:
        raise ConfigError(errors)
    return Config(
        source=src.name,
        oss=oss,
        incumbent=incumbent,
        admin=admin,
        routes=tuple(routes),
        limits=limits,
        storage_url=_resolve_sqlite(storage_url, base),
        keys_dir=file_path(keys.get("dir", "var/keys"), ("keys",), must_exist=False),
        generate_keys=bool(keys.get("generate", True)),
        log_level=logging_raw.get("level", "info"),
        log_format=logging_raw.get("format", "json"),
        shutdown_timeout_s=float(data.get("shutdown_timeout_s", 15.0)),
        sandbox=sandbox,
        audit=audit,
        minimisation=minimisation,
        decoys=decoys,
    )


def _overlaps(routes: list[Route], src: Source) -> list[str]:
    """Two routes of one direction with the same prefix and a shared method are ambiguous."""
    out = []
    for i, a in enumerate(routes):
        for j in range(i):
            b = routes[j]
            if (
                a.direction is b.direction
                and a.path_prefix == b.path_prefix
                and a.methods & b.methods
            ):
                out.append(
                    f"{src.where(('routes', i, 'path_prefix'))}: same prefix and methods as route {b.name!r}"
                )
    return out


def _resolve_sqlite(url: str, base: Path) -> str:
    """``sqlite:///rel/path`` is relative to the config file; ``sqlite:////abs`` is absolute."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(base / url[len(prefix) :])
    return url
