"""``phextcc cache info|clear``: inspect or empty the on-disk compile cache."""

from __future__ import annotations

import json

import click

from phextcc.embedding.cache import DiskCache
from phextcc.embedding.options import read_environment


def _cache() -> DiskCache:
    return DiskCache(read_environment().cache_dir)


@click.group("cache")
def cache_command() -> None:
    """Inspect or clear the compile cache of @phextcc.kernel and phextcc.compile."""


@cache_command.command("info")
@click.option("--json", "as_json", is_flag=True, help="print the listing as JSON")
def cache_info(as_json: bool) -> None:
    """Where the cache is, and what it holds."""
    settings = read_environment()
    info = DiskCache(settings.cache_dir).info()
    if as_json:
        click.echo(json.dumps({**info, "enabled": settings.cache_enabled}, indent=2))
        return
    state = "enabled" if settings.cache_enabled else "disabled (PHEXTCC_CACHE=0)"
    click.echo(f"cache directory: {info['directory']} ({state})")
    click.echo(f"entries: {info['count']}, {info['bytes']} bytes")
    for row in info["entries"]:  # type: ignore[attr-defined]
        mark = " CORRUPT (will be rebuilt)" if row.get("corrupt") else ""
        sections = ",".join(row.get("sections", []))
        click.echo(f"  {row['kernel']}{row['signature']} [{sections}] {row['bytes']} B{mark}")


@cache_command.command("clear")
def cache_clear() -> None:
    """Delete every cache entry."""
    removed = _cache().clear()
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")
