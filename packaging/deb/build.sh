#!/bin/bash
# Builds the Debian package of the agent from a release binary: packaging/deb/build.sh BINARY OUTDIR
# (`make deb` calls it). Needs dpkg-dev (dpkg-shlibdeps computes Depends from the binary's libraries) and binutils.
set -euo pipefail

binary=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

version=$("$binary" version | awk '{print $2}')
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "cannot read the version of $binary" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -D -m 0755 --strip "$binary" "$root/usr/bin/viworks-agent"
# The unit as shipped, with the binary where a package puts it.
sed 's|/usr/local/bin/viworks-agent|/usr/bin/viworks-agent|' "$repo/examples/systemd/viworks-agent.service" \
    | sed 's|Installed by `make install` as /etc/systemd/system/viworks-agent.service.|Installed by the Debian package as /lib/systemd/system/viworks-agent.service.|' \
    > "$stage/unit"
install -D -m 0644 "$stage/unit" "$root/lib/systemd/system/viworks-agent.service"
install -D -m 0644 "$repo/examples/agent.toml" "$root/etc/viworks-agent/agent.toml"
install -d -m 0755 "$root/etc/viworks-agent/plugins.d"
install -D -m 0644 "$repo/README.md" "$root/usr/share/doc/viworks-agent/README.md"
gzip -9n "$root/usr/share/doc/viworks-agent/README.md"

# Depends: the packages of the shared libraries the binary needs, with the versions their symbols require.
mkdir -p "$stage/debian"
printf 'Source: viworks-agent\n\nPackage: viworks-agent\nArchitecture: any\n' > "$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O "$root/usr/bin/viworks-agent" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --apparent-size "$root" | cut -f1)
install -d -m 0755 "$root/DEBIAN"
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$depends|" -e "s|@INSTALLED_SIZE@|$size|" \
    "$here/control" > "$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"

mkdir -p "$outdir"
deb="$outdir/viworks-agent_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
