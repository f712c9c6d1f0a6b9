# scripts/setup.sh: sourced by scripts/run and scripts/test. Takes a fresh
# Debian 12 machine to a built ember: installs the missing Debian packages
# (as root, or through sudo where that works without a password; otherwise
# prints the one apt-get line to run and stops), then meson setup (once)
# and meson compile. A second run finds everything done and takes seconds.
# A caller may set extra_packages before sourcing this, for packages that
# only it needs (scripts/test: the fuzzing and valgrind tools).

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
packages="meson ninja-build pkg-config gcc libc6-dev liblua5.4-dev libreadline-dev zlib1g-dev libxml2-utils libopenblas-dev dataset-fashion-mnist ${extra_packages:-}"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo"
    else
        echo "ember needs these Debian packages:$missing" >&2
        echo "install them with:" >&2
        echo "  sudo apt-get install -y$missing" >&2
        exit 1
    fi
    echo "ember: installing$missing" >&2
    log=$(mktemp)
    # A fresh machine may have no package lists yet: update and retry once.
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >"$log" 2>&1; then
        if ! { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "ember: apt-get could not install$missing" >&2
            exit 1
        fi
    fi
    rm -f "$log"
fi

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >"$root/.setup.log" 2>&1 || { cat "$root/.setup.log" >&2; exit 1; }
    rm -f "$root/.setup.log"
fi
compile_log=$(mktemp)
if ! meson compile -C "$build" >"$compile_log" 2>&1; then
    cat "$compile_log" >&2
    rm -f "$compile_log"
    exit 1
fi
rm -f "$compile_log"
