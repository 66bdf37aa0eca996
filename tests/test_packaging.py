"""Installed from a wheel, not from this checkout: the package carries its migrations, templates and static files.

The wheel is built (by pip, with build isolation: the build-system's setuptools) from a copy of the sources,
so no build/ or egg-info lands in the repository and what is compared is one snapshot. It is installed with
`pip install --no-deps` into a fresh venv (the dependencies come from this venv) and run from an empty working
directory: the repository is on no path the installed copy sees.
"""

from __future__ import annotations

import configparser
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path, PurePosixPath

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import models
from admin_site import resources
from admin_site.db import migrations
from tests.helpers import alembic_config, free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "admin_site", "models", "migrations")


# -- fast: the configuration the app builds in code ----------------------------------------------


def test_in_code_config_has_alembic_ini_options() -> None:
    """admin_site/db/migrations.py builds what alembic.ini says, for the same script directory."""
    ini = configparser.ConfigParser(defaults={"here": str(ROOT)})
    ini.read(ROOT / "alembic.ini")
    config = alembic_config("postgresql+psycopg2://unused/unused")
    assert Path(config.get_main_option("script_location")) == Path(ini.get("alembic", "script_location"))
    for name in migrations.OPTIONS:
        assert config.get_main_option(name) == ini.get("alembic", name), name
    assert set(ini.options("alembic")) - {"here"} == {"script_location", "prepend_sys_path", *migrations.OPTIONS}
    assert config.config_file_name is None  # needs no alembic.ini


def test_checkout_uses_the_top_level_migrations_folder() -> None:
    assert resources.migrations_dir() == ROOT / "migrations"
    assert not (ROOT / "admin_site" / "migrations").exists(), "the migrations' one source is migrations/"


# -- slow: build the wheel, look inside, install it elsewhere and run it ----------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = work / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, f"pip wheel failed:\n{built.stdout}\n{built.stderr}"
    (found,) = out.glob("admin_site-*.whl")
    return found


def shipped(source: Path, top: str, installed_as: str) -> set[str]:
    """Every file under `source/top` (caches aside), named as the wheel must hold it."""
    return {
        str(PurePosixPath(installed_as, *path.relative_to(source / top).parts))
        for path in (source / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.mark.slow
def test_wheel_holds_migrations_templates_static_and_every_module(wheel: Path) -> None:
    source = wheel.parent.parent / "source"
    names = set(zipfile.ZipFile(wheel).namelist())

    versions = shipped(source, "migrations/versions", "admin_site/migrations/versions")
    assert versions, "no migration versions in the source"
    assert versions <= names, f"migrations missing from the wheel: {sorted(versions - names)}"
    assert shipped(source, "migrations", "admin_site/migrations") <= names  # env.py, script.py.mako

    templates = shipped(source, "admin_site/templates", "admin_site/templates")
    static = shipped(source, "admin_site/static", "admin_site/static")
    assert templates and static
    assert templates <= names, f"templates missing from the wheel: {sorted(templates - names)}"
    assert static <= names, f"static files missing from the wheel: {sorted(static - names)}"

    # A package left out of pyproject.toml's list would be missing here (the list is explicit).
    modules = {name for top in ("admin_site", "models") for name in shipped(source, top, top) if name.endswith(".py")}
    assert modules <= names, (
        f"modules missing from the wheel (add their package to pyproject.toml): {sorted(modules - names)}"
    )

    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"admin_site", "models"}, sorted(tops)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (not editable); its dependencies are this venv's, reached by a
    .pth file (whose directories' own .pth files, such as the editable install's finder, are not run)."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    deps = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(purelib, "test_venv_dependencies.pth").write_text("".join(f"{d}\n" for d in deps))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-compile",
            "--quiet",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return venv


def installed_env(database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ADMIN_", "PYTHON")) and k not in {"DATABASE_URL", "SECRET_KEY", "VIRTUAL_ENV"}
    }
    env.update(PYTHONNOUSERSITE="1", PYTHONSAFEPATH="1", DATABASE_URL=database_url, ADMIN_ENV="development")
    return env


PROBE = """
import sys
import admin_site.app, admin_site.ops.cli, models
from admin_site.resources import migrations_dir
print(migrations_dir())
print("\\n".join(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
"""


@pytest.mark.slow
def test_installed_wheel_migrates_and_serves_from_its_own_files(installed: Path, fresh_database_url, tmp_path) -> None:
    url = fresh_database_url("packaging_wheel")
    env = installed_env(url)
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}

    # The installed copy is the one imported, migrations included; nothing comes from the checkout.
    probe = subprocess.run([str(installed / "bin" / "python"), "-c", PROBE], check=False, **run)
    assert probe.returncode == 0, probe.stderr
    where, *files = probe.stdout.splitlines()
    assert Path(where).is_relative_to(installed) and Path(where).parts[-2:] == ("admin_site", "migrations")
    from_checkout = [f for f in files if Path(f).resolve().is_relative_to(ROOT) and ".venv" not in Path(f).parts]
    assert from_checkout == [], f"imported from the checkout: {from_checkout}"

    migrate = subprocess.run([str(installed / "bin" / "admin-site"), "migrate"], check=False, **run)
    assert migrate.returncode == 0, f"{migrate.stdout}\n{migrate.stderr}"
    assert "Schema is up to date." in migrate.stdout
    assert "Running upgrade  -> 0001" in migrate.stderr  # alembic's INFO lines, as on the command line

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert set(inspect(engine).get_table_names()) == set(models.Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()

    # serve: migrates (nothing to do), then answers with the installed templates and static files.
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "bin" / "admin-site"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"serve exited:\n{server.stdout.read()}"
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json() == {"database": "ok"}
        login = httpx.get(f"{base}/admin/login", timeout=10)
        assert login.status_code == 200 and "/admin/shop-static/csrf.js" in login.text
        script = httpx.get(f"{base}/admin/shop-static/csrf.js", timeout=10)
        assert script.status_code == 200
        assert script.text == (Path(where).parent / "static" / "csrf.js").read_text()
    finally:
        stop_process(server, timeout=15)
