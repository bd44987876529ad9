# Shared steps of scripts/demo and scripts/test (sourced, not run).

# Debian packages: the server, its headers for PGXS, pgTAP and pg_prove.
# make and gcc build the C; python3 is not needed.
PTL_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl make gcc"

say() { printf '\n==> %s\n' "$*"; }

install_dependencies() {
    local missing=""
    for p in $PTL_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        if [ "$(id -u)" != 0 ]; then
            echo "scripts need root to install packages (apt-get); run as root" >&2
            exit 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
    export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
}

build_and_install() {
    say "building ptl (${1:-default flags})"
    make -s clean >/dev/null
    if [ -n "${1:-}" ]; then
        make -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$1" PG_LDFLAGS="${2:-}"
    else
        make -s PG_CONFIG="$PG_CONFIG"
    fi
    make -s PG_CONFIG="$PG_CONFIG" install install-synth >/dev/null
}
