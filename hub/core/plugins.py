"""The plugin manager: loads built-in and third-party plugins, keeps their registries.

Built-ins are declared under the ``hub`` entry-point group in pyproject.toml, exactly
as a third-party package declares its own, so they have no privilege an outside plugin
lacks. ``HUB_DISABLE_PLUGINS`` (comma-separated names) blocks plugins before they load;
``HUB_TRACE_PLUGINS=1`` logs every hook call (plugin, hook, outcome, time; never the
arguments), in ``hub run`` and in every other command alike.

An installed plugin is isolated: one that fails to import, needs a plugin API version
this hub does not offer (:data:`hub.PLUGIN_API` against its ``HUB_PLUGIN_API``),
implements a hook wrongly (unknown name, argument names the hook does not offer), or
raises or registers a clashing name in a registration hook is not loaded; it becomes a
:class:`PluginProblem` (entry-point name, distribution, version, cause) on
:attr:`PluginHost.problems`, logged once when the host loads and listed by
``hub plugins``, and the rest of the hub runs. A plugin raising in a later hook is
logged with the same names, marked failing and skipped (:meth:`PluginHost.call_each`).
Plugins handed to :meth:`PluginHost.load` in code (tests) are the caller's own: their
mistakes raise :class:`hub.errors.PluginError` at once.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pluggy

from hub import hookspecs
from hub.errors import PluginError

log = logging.getLogger("hub.plugins")

ENTRY_POINT_GROUP = "hub"
API_ATTRIBUTE = "HUB_PLUGIN_API"
DISTRIBUTIONS: dict[int, Any] = {}  # id(plugin module) -> the distribution that installed it
REGISTRATION_HOOKS = (  # hook, kind, PluginHost attribute, the name attribute of a thing
    ("register_channel_types", "channel", "channel_types", "type_name"),
    ("register_carrier_types", "carrier", "carrier_types", "type_name"),
    ("register_notifiers", "notifier", "notifier_types", "type_name"),
    ("register_routers", "router", "routers", "name"),
)


@dataclass(frozen=True)
class PluginProblem:
    """Why an installed plugin was not loaded, or failed when called.

    ``plugin`` is its entry-point name (what ``HUB_DISABLE_PLUGINS`` takes), ``package``
    and ``version`` its distribution's (empty for a plugin handed over in code), ``cause``
    one line: what went wrong and what the hub did about it.
    """

    plugin: str
    package: str
    version: str
    cause: str

    def __str__(self) -> str:
        return f"plugin {_label(self.plugin, self.package, self.version)} {self.cause}"

    def as_dict(self) -> dict[str, str]:
        """``{"plugin", "package", "version", "cause"}``, for JSON."""
        return asdict(self)


def _label(name: str, package: str, version: str) -> str:
    origin = " ".join(part for part in (package, version) if part)
    return f"{name!r} ({origin})" if origin else repr(name)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _describe_error(error: BaseException) -> str:
    return _one_line(f"{type(error).__name__}: {error}")


def api_accepts(spec: str, version: str = hookspecs.PLUGIN_API) -> bool:
    """Whether plugin API ``version`` (``"1.0"``) lies in the range ``spec`` (``">=1,<2"``).

    ``spec`` is one or more comma-separated clauses, each an operator (``>=``, ``>``,
    ``<=``, ``<``, ``==``, ``!=``) and a version ``MAJOR`` or ``MAJOR.MINOR`` (a missing
    minor is 0); all must hold. Raises :class:`ValueError` naming a clause that cannot
    be read.
    """
    have = _api_version(version)
    clauses = [c.strip() for c in spec.split(",")]
    if not any(clauses):
        raise ValueError(f"{spec!r} is empty; write a range such as '>=1,<2'")
    accepted = True
    for clause in clauses:
        match = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)?)", clause)
        if match is None:
            raise ValueError(
                f"{clause!r} in {spec!r} is not a clause like '>=1' or '<2' "
                "(operators >=, >, <=, <, ==, !=; versions MAJOR or MAJOR.MINOR)"
            )
        operator, bound = match[1], _api_version(match[2])
        accepted = (
            accepted
            and {
                ">=": have >= bound,
                ">": have > bound,
                "<=": have <= bound,
                "<": have < bound,
                "==": have == bound,
                "!=": have != bound,
            }[operator]
        )
    return accepted


def _api_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


class _Loader:
    """Builds a plugin manager and, when ``problems`` is a list, isolates installed plugins
    by recording what is wrong with them there instead of raising."""

    def __init__(self, pm: pluggy.PluginManager, problems: list[PluginProblem] | None) -> None:
        self.pm = pm
        self.problems = problems
        self.distributions: dict[str, Any] = {}  # plugin name -> distribution

    def fail(self, name: str, dist: Any, cause: str, error: BaseException | None = None) -> None:
        problem = PluginProblem(
            name, _dist_name(dist), dist.version if dist is not None else "", cause
        )
        if self.problems is None:
            raise PluginError(str(problem), plugin=name) from error
        self.problems.append(problem)

    def load_entry_points(self) -> None:
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        # A stable order, not sys.path's: when two plugins register one name, the one
        # whose entry-point name sorts first keeps it, wherever each is installed.
        for entry in sorted(found, key=lambda e: (e.name, _dist_name(e.dist))):
            if self.pm.is_blocked(entry.name):
                continue
            dist = entry.dist
            if self.pm.has_plugin(entry.name):
                other = self.distributions.get(entry.name)
                self.fail(
                    entry.name,
                    dist,
                    f"not loaded: the name {entry.name!r} is taken by "
                    f"{_dist_name(other) or 'another plugin'}"
                    f"{' ' + other.version if other is not None else ''}",
                )
                continue
            try:
                plugin = entry.load()
            except (Exception, SystemExit) as error:  # sys.exit() at import stops no hub
                self.fail(
                    entry.name,
                    dist,
                    f"failed to import ({entry.value}): {_describe_error(error)}; not loaded: "
                    f"fix it or set HUB_DISABLE_PLUGINS={entry.name}",
                    error,
                )
                continue
            if self.add(plugin, entry.name, dist):
                DISTRIBUTIONS[id(plugin)] = dist

    def add(self, plugin: object, name: str | None, dist: Any = None) -> bool:
        """Check the plugin's API range and hooks, then register it; False when refused."""
        label = name or getattr(plugin, "__name__", None) or type(plugin).__qualname__
        needs = getattr(plugin, API_ATTRIBUTE, None)
        if needs is not None:
            try:
                if not isinstance(needs, str):
                    raise ValueError(f"{needs!r} is not a string such as '>=1,<2'")
                accepted = api_accepts(needs)
            except ValueError as error:
                self.fail(label, dist, f"declares {API_ATTRIBUTE} {error}; not loaded")
                return False
            if not accepted:
                self.fail(
                    label,
                    dist,
                    f"needs plugin API {needs} but this hub offers {hookspecs.PLUGIN_API}; "
                    "not loaded: install a version of the plugin made for this hub",
                )
                return False
        try:
            registered = self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as error:
            self.fail(label, dist, f"{self._wrong_arguments(error)}; not loaded", error)
            return False
        except ValueError as error:  # registered twice
            self.fail(label, dist, f"not loaded: {_one_line(str(error).splitlines()[0])}", error)
            return False
        if registered is None:
            return False
        unknown = sorted(
            hook.name
            for hook in self.pm.get_hookcallers(plugin) or []
            if not hook.has_spec()
            and any(i.plugin is plugin and not i.optionalhook for i in hook.get_hookimpls())
        )
        if unknown:
            self.pm.unregister(plugin)
            known = ", ".join(sorted(n for n in dir(hookspecs) if _is_spec(n)))
            self.fail(
                label,
                dist,
                f"implements unknown hook(s) {', '.join(unknown)} (the hooks are {known}); "
                "not loaded",
            )
            return False
        self.distributions[registered] = dist
        return True

    def _wrong_arguments(self, error: pluggy.PluginValidationError) -> str:
        text = _one_line(str(error))
        match = re.search(
            r"for hook '(\w+)' hookimpl definition: (.+?) Argument\(s\) \{(.*?)\} are declared",
            text,
        )
        if match is None:
            return text
        hook = getattr(self.pm.hook, match[1], None)
        offered = ", ".join(hook.spec.argnames) if hook is not None and hook.spec else "?"
        wrong = ", ".join(sorted(a.strip(" '\"") for a in match[3].split(",")))
        return (
            f"implements {match[2]} with argument(s) the hook does not offer: {wrong} "
            f"({match[1]} offers {offered})"
        )


def _is_spec(name: str) -> bool:
    return not name.startswith("_") and hasattr(getattr(hookspecs, name, None), "hub_spec")


def _dist_name(dist: Any) -> str:
    if dist is None:
        return ""
    try:
        return str(dist.metadata["Name"] or dist.name)
    except Exception:  # a distribution without readable metadata
        return str(getattr(dist, "name", "") or "")


def _new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    for name in _disabled():
        pm.set_blocked(name)
    return pm


def _build(
    plugins: Iterable[object], entry_points: bool, problems: list[PluginProblem] | None
) -> _Loader:
    loader = _Loader(_new_plugin_manager(), problems)
    if entry_points:
        loader.load_entry_points()
    in_code = _Loader(loader.pm, None)  # the caller's own plugins: mistakes raise
    for plugin in plugins:
        in_code.add(plugin, None)
    if tracing():
        _trace_to_stderr()
        loader.pm.add_hookcall_monitoring(_trace_before, _trace_after)
    return loader


def make_plugin_manager(
    plugins: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    """Build a fresh plugin manager: hookspecs, entry-point plugins, then ``plugins``.

    Strict: the first plugin that fails to import, needs another plugin API or
    implements a hook wrongly raises :class:`PluginError` naming it.
    :meth:`PluginHost.load` isolates installed plugins instead.
    """
    return _build(plugins, entry_points, None).pm


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Import and register every plugin of the ``hub`` group into ``pm``; the first that
    fails raises :class:`PluginError` naming it, its distribution and the cause."""
    _Loader(pm, None).load_entry_points()


def _disabled() -> list[str]:
    return [n.strip() for n in os.environ.get("HUB_DISABLE_PLUGINS", "").split(",") if n.strip()]


def tracing() -> bool:
    """Whether ``HUB_TRACE_PLUGINS`` asks for hook calls to be logged (any value but
    empty, ``0``, ``false``, ``no``, ``off``)."""
    value = os.environ.get("HUB_TRACE_PLUGINS", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _trace_to_stderr() -> None:
    """Let trace lines through: ``hub run`` configures logging, other commands do not,
    so give ``hub.plugins`` a stderr handler of its own when nothing would show them."""
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)


def _trace_before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    log.info("hook %s -> %s", hook_name, [impl.plugin_name for impl in impls])


def _trace_after(
    outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]
) -> None:
    log.info("hook %s done", hook_name)


@dataclass
class PluginHost:
    """The loaded plugins and what they registered, by name.

    ``problems`` lists the installed plugins that were not loaded and why
    (:class:`PluginProblem`). ``failing`` maps a plugin name to the last error it raised
    in a hook; it is cleared when the plugin's next call succeeds.
    """

    pm: pluggy.PluginManager
    channel_types: dict[str, type] = field(default_factory=dict)
    carrier_types: dict[str, type] = field(default_factory=dict)
    notifier_types: dict[str, type] = field(default_factory=dict)
    routers: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # "channel:shopify" -> plugin name
    failing: dict[str, str] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    distributions: dict[str, Any] = field(default_factory=dict)  # plugin name -> distribution
    trace: bool = False

    @classmethod
    def load(
        cls, plugins: Iterable[object] = (), *, entry_points: bool = True, log_problems: bool = True
    ) -> PluginHost:
        """Load plugins and collect their registrations.

        An installed plugin that cannot be loaded (see the module's docstring) is left
        out and recorded in ``problems``, each logged as an ERROR unless
        ``log_problems`` is False. A plugin in ``plugins`` that is broken, or registers
        a name another plugin has, raises :class:`PluginError` naming both.
        """
        problems: list[PluginProblem] = []
        loader = _build(plugins, entry_points, problems)
        host = cls(
            loader.pm, problems=problems, distributions=loader.distributions, trace=tracing()
        )
        host._collect_registrations()
        if log_problems:
            for problem in host.problems:
                log.error("%s", problem)
        return host

    def _collect_registrations(self) -> None:
        """Ask each plugin in turn for its registrations; a plugin's things are added all
        at once, or, when one of its registration hooks raises or clashes, not at all."""
        for name, plugin in list(self.pm.list_name_plugin()):
            if plugin is None:
                continue
            staged: list[tuple[str, str, Any]] = []  # (kind, name, thing)
            try:
                for hook, kind, _registry, attr in REGISTRATION_HOOKS:
                    for impl in getattr(self.pm.hook, hook).get_hookimpls():
                        if impl.plugin is plugin:
                            register = self._registrar(kind, attr, name, staged)
                            self._call(impl, hook, {"register": register})
            except (Exception, SystemExit) as error:
                dist = self.distributions.get(name)
                if name not in self.distributions:  # handed over in code
                    if isinstance(error, PluginError):
                        raise
                    raise PluginError(
                        f"plugin {name!r} failed in its registration: {_describe_error(error)}",
                        plugin=name,
                    ) from error
                cause = str(error) if isinstance(error, PluginError) else _describe_error(error)
                self.problems.append(
                    PluginProblem(
                        name,
                        _dist_name(dist),
                        dist.version if dist is not None else "",
                        f"failed in its registration: {_one_line(cause)}; not loaded",
                    )
                )
                self.pm.unregister(plugin)
                continue
            registries = {kind: getattr(self, attr) for _, kind, attr, _ in REGISTRATION_HOOKS}
            for kind, thing_name, thing in staged:
                registries[kind][thing_name] = thing
                self.origins[f"{kind}:{thing_name}"] = name

    def _registrar(
        self, kind: str, attr: str, plugin: str, staged: list[tuple[str, str, Any]]
    ) -> Callable[[Any], None]:
        registry = getattr(self, dict((k, a) for _, k, a, _ in REGISTRATION_HOOKS)[kind])

        def register(thing: Any) -> None:
            name = getattr(thing, attr, "")
            if not name or not isinstance(name, str):
                raise PluginError(
                    f"plugin {plugin!r} registered a {kind} without a {attr}", plugin=plugin
                )
            key = f"{kind}:{name}"
            if name in registry:
                raise PluginError(
                    f"{kind} {name!r} is registered by both plugin {self.origins[key]!r} "
                    f"and plugin {plugin!r}; disable one with HUB_DISABLE_PLUGINS",
                    plugin=plugin,
                )
            if any(k == kind and n == name for k, n, _ in staged):
                raise PluginError(
                    f"plugin {plugin!r} registered {kind} {name!r} twice", plugin=plugin
                )
            staged.append((kind, name, thing))

        return register

    def _call(self, impl: Any, hook: str, args: dict[str, Any]) -> Any:
        """Call one implementation, tracing it when ``HUB_TRACE_PLUGINS`` is on."""
        if not self.trace:
            return impl.function(**args)
        started = time.perf_counter()
        try:
            result = impl.function(**args)
        except BaseException as error:
            log.info(
                "hook %s -> plugin %s raised %s after %.1f ms",
                hook,
                self.label(impl.plugin_name),
                type(error).__name__,
                (time.perf_counter() - started) * 1000,
            )
            raise
        log.info(
            "hook %s -> plugin %s ok in %.1f ms",
            hook,
            self.label(impl.plugin_name),
            (time.perf_counter() - started) * 1000,
        )
        return result

    def label(self, plugin: str) -> str:
        """``'name' (package version)``: how logs and messages name a plugin."""
        dist = self.distributions.get(plugin)
        return _label(plugin, _dist_name(dist), dist.version if dist is not None else "")

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook`` alone; one that raises is logged (naming
        the plugin, its distribution and version), marked failing and skipped.

        Returns ``(plugin name, result)`` for each implementation that returned normally.
        """
        results = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                result = self._call(impl, hook, args)
            except Exception as error:
                self.failing[impl.plugin_name] = f"{type(error).__name__}: {error}"
                log.error(
                    "plugin %s failed in hook %s: %s (%s)",
                    self.label(impl.plugin_name),
                    hook,
                    error,
                    type(error).__name__,
                    exc_info=True,
                )
                continue
            self.failing.pop(impl.plugin_name, None)
            results.append((impl.plugin_name, result))
        return results

    def describe(self) -> list[dict[str, Any]]:
        """One entry per loaded plugin: name, version, hooks, origin (module or package)."""
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist = self.distributions.get(name) or DISTRIBUTIONS.get(id(plugin))
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            rows.append(
                {
                    "name": name,
                    "version": dist.version if dist else "",
                    "package": _dist_name(dist),
                    "module": getattr(plugin, "__name__", type(plugin).__name__),
                    "hooks": hooks,
                    "provides": sorted(k for k, v in self.origins.items() if v == name),
                    "failing": self.failing.get(name, ""),
                }
            )
        return rows
