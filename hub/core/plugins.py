"""The plugin manager: loads built-in and third-party plugins, keeps their registries.

Built-ins are declared under the ``hub`` entry-point group in pyproject.toml, exactly
as a third-party package declares its own, so they have no privilege an outside plugin
lacks. ``HUB_DISABLE_PLUGINS`` (comma-separated names) blocks plugins before they load;
``HUB_TRACE_PLUGINS=1`` logs every hook call.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from hub import hookspecs
from hub.errors import PluginError

log = logging.getLogger("hub.plugins")

ENTRY_POINT_GROUP = "hub"
DISTRIBUTIONS: dict[int, Any] = {}  # id(plugin module) -> the distribution that installed it


def make_plugin_manager(
    plugins: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    """Build a fresh plugin manager: hookspecs, entry-point plugins, then ``plugins``."""
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    for name in _disabled():
        pm.set_blocked(name)
    if entry_points:
        load_entry_points(pm)
    for plugin in plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(
            f"plugin {error.plugin!r} implements an unknown hook: {error}", plugin=str(error.plugin)
        ) from error
    if os.environ.get("HUB_TRACE_PLUGINS"):
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    return pm


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Import and register every plugin of the ``hub`` group, naming the one that fails.

    pluggy's own loader stops at the first broken plugin without saying which it was; a
    plugin author needs the name.
    """
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(entry.name) or pm.has_plugin(entry.name):
            continue
        try:
            plugin = entry.load()
        except Exception as error:
            raise PluginError(
                f"plugin {entry.name!r} ({entry.value}) failed to import: "
                f"{type(error).__name__}: {error}; fix it or set HUB_DISABLE_PLUGINS={entry.name}",
                plugin=entry.name,
            ) from error
        pm.register(plugin, name=entry.name)
        DISTRIBUTIONS[id(plugin)] = entry.dist


def _disabled() -> list[str]:
    return [n.strip() for n in os.environ.get("HUB_DISABLE_PLUGINS", "").split(",") if n.strip()]


def _trace_before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    log.info("hook %s -> %s", hook_name, [impl.plugin_name for impl in impls])


def _trace_after(
    outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]
) -> None:
    log.info("hook %s done", hook_name)


@dataclass
class PluginHost:
    """The loaded plugins and what they registered, by name.

    ``failing`` maps a plugin name to the last error it raised in a hook; it is
    cleared when the plugin's next call succeeds.
    """

    pm: pluggy.PluginManager
    channel_types: dict[str, type] = field(default_factory=dict)
    carrier_types: dict[str, type] = field(default_factory=dict)
    notifier_types: dict[str, type] = field(default_factory=dict)
    routers: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # "channel:shopify" -> plugin name
    failing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, plugins: Iterable[object] = (), *, entry_points: bool = True) -> PluginHost:
        """Load plugins and collect their registrations; clashes raise :class:`PluginError`."""
        host = cls(make_plugin_manager(plugins, entry_points=entry_points))
        host._collect("register_channel_types", "channel", host.channel_types, "type_name")
        host._collect("register_carrier_types", "carrier", host.carrier_types, "type_name")
        host._collect("register_notifiers", "notifier", host.notifier_types, "type_name")
        host._collect("register_routers", "router", host.routers, "name")
        return host

    def _collect(self, hook: str, kind: str, registry: dict, attr: str) -> None:
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            impl.function(register=self._registrar(kind, registry, attr, impl.plugin_name))

    def _registrar(self, kind: str, registry: dict, attr: str, plugin: str) -> Callable:
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
            registry[name] = thing
            self.origins[key] = plugin

        return register

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook`` alone; one that raises is logged and skipped.

        Returns ``(plugin name, result)`` for each implementation that returned normally.
        """
        results = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                result = impl.function(**args)
            except Exception as error:
                self.failing[impl.plugin_name] = f"{type(error).__name__}: {error}"
                log.error(
                    "plugin %r failed in hook %s: %s", impl.plugin_name, hook, error, exc_info=True
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
            dist = DISTRIBUTIONS.get(id(plugin))
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            rows.append(
                {
                    "name": name,
                    "version": dist.version if dist else "",
                    "package": dist.metadata["Name"] if dist else "",
                    "module": getattr(plugin, "__name__", type(plugin).__name__),
                    "hooks": hooks,
                    "provides": sorted(k for k, v in self.origins.items() if v == name),
                    "failing": self.failing.get(name, ""),
                }
            )
        return rows
