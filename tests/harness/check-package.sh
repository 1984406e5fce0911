# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages and the DKMS module, checked without touching this
# machine's kernel (sourced by check.sh, which provides record, elapsed,
# LOGDIR, the ready[] table and what common.sh defines).
#
#   package/debs               'make deb' makes the four packages; the
#                              library's has a symbols file, the dkms one a
#                              dkms.conf and no test hooks
#   package/lintian            no lintian error on any of them (the tags it
#                              does report are in the detail)
#   package/dkms-SERIES-amd64  (6.12, 6.1) the dkms package's tree run by dkms
#                              itself, with a private DKMS tree, source tree
#                              and install tree (--dkmstree, --sourcetree,
#                              --installtree), the cached headers
#                              (--kernelsourcedir) and the cached
#                              linux-source tarball: dkms build makes the
#                              series' production module; dkms autoinstall
#                              (what DKMS's kernel hook runs for a new
#                              kernel: AUTOINSTALL=yes) puts it in
#                              updates/dkms over a copy of the stock module
#                              and modprobe (-d on that tree) takes it;
#                              dkms remove brings the stock one back
#   package/dkms-unsupported-series
#                              a kernel series without patches fails in
#                              PRE_BUILD, naming the supported series
#   package/dkms-module-boots  the intel-iommu guest on 6.12 with the module
#                              dkms built (and no test exporter): the demo
#                              passes, the loaded module is that build (its
#                              srcversion, not the harness build's) without
#                              test hooks, and 'vfio-dmabuf status' is ready
#   package/dev-example-builds examples/ built against libvfio-dmabuf-dev
#                              and libvfio-dmabuf0 unpacked with dpkg -x,
#                              through pkg-config only
#
# Nothing goes into /lib/modules or /var/lib/dkms: dkms gets private trees,
# module signing is off (sign_file names no program: a found sign-file
# would make dkms create a key in /var/lib/dkms), depmod and modprobe run
# on the private tree (-b, -d).  package/dkms-* fail if either changed.

PKG_NO_SIGN=/nonexistent/sign-file

# pkg_host_state: what must not change on this machine.
pkg_host_state() {
	find /var/lib/dkms /lib/modules -printf '%p %s %T@\n' 2>/dev/null | sort
}

# pkg_dkms SERIES: package/dkms-SERIES-amd64, in $PKG_DIR/dkms-SERIES;
# the module it built is kept as $PKG_DIR/vfio_iommu_type1-SERIES.ko.
pkg_dkms() {
	local s=$1 arch=amd64 t log rel kroot hdr pkg v deb ko ver hooks m f
	local -a opts
	t=$PKG_DIR/dkms-$s
	log=$t.log
	rm -rf "$t"
	mkdir -p "$t/dkms" "$t/usr-src"
	if ! "$TOP/tests/harness/fetch-kernel.sh" "$s" "$arch" >"$log" 2>&1; then
		record FAIL "package/dkms-$s-$arch" "the kernel $s/$arch could not be fetched; log: $log"
		return 1
	fi
	rel=$(kernel_release "$s" "$arch")
	kroot=$(kernel_dir "$s" "$arch")/root
	hdr=$kroot/usr/src/linux-headers-$rel
	# /usr/src as the linux-source package leaves it: the tarball from the
	# cached .deb, or else the harness's unpacked tree.
	read -r pkg v < <(lock_get "$s" all source)
	deb=$(deb_path "$pkg" "$v" "")
	if [ -f "$deb" ]; then
		dpkg-deb --fsys-tarfile "$deb" |
			tar -x -C "$t/usr-src" --strip-components=3 "./usr/src/linux-source-$s.tar.xz"
	else
		ln -s "$(source_dir "$s")" "$t/usr-src/linux-source-$s"
	fi
	# The install tree: the stock vfio and vfio_iommu_type1 (uncompressed,
	# so that dkms's version check compares against the stock one).
	mkdir -p "$t/root/lib/modules/$rel/kernel/drivers/vfio"
	for m in vfio vfio_iommu_type1; do
		f=$(ls "$kroot/lib/modules/$rel/kernel/drivers/vfio/$m".ko* 2>/dev/null | head -n 1)
		case $f in
		*.xz) xz -dc "$f" ;;
		*.zst) zstd -qdc "$f" ;;
		*) cat "$f" ;;
		esac >"$t/root/lib/modules/$rel/kernel/drivers/vfio/$m.ko" ||
			{ record FAIL "package/dkms-$s-$arch" "no stock $m module in $kroot"; return 1; }
	done
	cp "$kroot/lib/modules/$rel"/modules.{order,builtin,builtin.modinfo} \
		"$t/root/lib/modules/$rel/" 2>/dev/null || true
	opts=(--dkmstree "$t/dkms" --sourcetree "$PKG_SRCTREE" --installtree "$t/root/lib/modules")

	{
		echo "== dkms add, dkms build for $rel"
		dkms add -m vfio-dmabuf -v "$PKG_VERSION" "${opts[@]}" &&
		sign_file=$PKG_NO_SIGN VFIO_DMABUF_LINUX_SOURCE_DIR=$t/usr-src \
			dkms build -m vfio-dmabuf -v "$PKG_VERSION" -k "$rel" --arch x86_64 \
			--kernelsourcedir "$hdr" "${opts[@]}"
	} >>"$log" 2>&1
	ko=$t/dkms/vfio-dmabuf/$PKG_VERSION/$rel/x86_64/module/vfio_iommu_type1.ko
	cat "$t/dkms/vfio-dmabuf/$PKG_VERSION/$rel/x86_64/log/make.log" \
		"$t/dkms/vfio-dmabuf/$PKG_VERSION/build/make.log" >>"$log" 2>/dev/null
	if [ ! -f "$ko" ]; then
		record FAIL "package/dkms-$s-$arch" "dkms build made no module; log: $log"
		return 1
	fi
	cp "$ko" "$PKG_DIR/vfio_iommu_type1-$s.ko"
	ver=$(modinfo -F version "$ko")
	hooks=$(modinfo -F parm "$ko" | grep -c '^dmabuf_test' || true)
	if [ "$ver" != "0.2+vfio-dmabuf-$PKG_VERSION" ] || [ "$hooks" != 0 ] ||
	   [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" != "$rel" ]; then
		record FAIL "package/dkms-$s-$arch" "not the production module for $rel: version '$ver', $hooks test parameters, vermagic '$(modinfo -F vermagic "$ko")'; log: $log"
		return 1
	fi

	{
		echo "== dkms autoinstall over the stock module, then modprobe's choice"
		sign_file=$PKG_NO_SIGN dkms autoinstall -k "$rel" \
			--arch x86_64 --kernelsourcedir "$hdr" --no-depmod "${opts[@]}" &&
		depmod -b "$t/root" "$rel" &&
		modprobe -d "$t/root" -S "$rel" --show-depends vfio_iommu_type1 | tee "$t/installed.deps"
	} >>"$log" 2>&1
	if ! grep -qx "insmod $t/root/lib/modules/$rel/updates/dkms/vfio_iommu_type1.ko *" "$t/installed.deps"; then
		record FAIL "package/dkms-$s-$arch" "after dkms autoinstall, modprobe does not take updates/dkms/vfio_iommu_type1.ko; log: $log"
		return 1
	fi
	{
		echo "== dkms remove, then modprobe's choice"
		dkms remove -m vfio-dmabuf -v "$PKG_VERSION" --all --no-depmod "${opts[@]}" &&
		depmod -b "$t/root" "$rel" &&
		modprobe -d "$t/root" -S "$rel" --show-depends vfio_iommu_type1 | tee "$t/removed.deps"
	} >>"$log" 2>&1
	if ! grep -qx "insmod $t/root/lib/modules/$rel/kernel/drivers/vfio/vfio_iommu_type1.ko *" "$t/removed.deps" ||
	   [ -n "$(find "$t/root" -path '*/updates/*' -name '*.ko*')" ]; then
		record FAIL "package/dkms-$s-$arch" "after dkms remove, the stock module is not back; log: $log"
		return 1
	fi
	record PASS "package/dkms-$s-$arch" "dkms build for $rel: version $ver, srcversion $(modinfo -F srcversion "$PKG_DIR/vfio_iommu_type1-$s.ko"), no test hooks; autoinstall: modprobe takes updates/dkms; remove: the stock module again"
}

# A series without patches: dkms build fails in PRE_BUILD and says which
# series there are (a made-up 6.5 kernel build tree; nothing is compiled).
pkg_dkms_unsupported() {
	local t=$PKG_DIR/dkms-unsupported log out
	log=$t.log
	rm -rf "$t"
	mkdir -p "$t/dkms" "$t/kbuild/include" "$t/root/lib/modules"
	printf 'kernelversion:\n\t@echo 6.5.13\n' >"$t/kbuild/Makefile"
	{
		dkms add -m vfio-dmabuf -v "$PKG_VERSION" --dkmstree "$t/dkms" --sourcetree "$PKG_SRCTREE" &&
		sign_file=$PKG_NO_SIGN dkms build -m vfio-dmabuf -v "$PKG_VERSION" -k 6.5.0-5-amd64 \
			--arch x86_64 --kernelsourcedir "$t/kbuild" --dkmstree "$t/dkms" \
			--sourcetree "$PKG_SRCTREE" --installtree "$t/root/lib/modules"
		echo "exit status $?"
	} >"$log" 2>&1
	out=$(grep '^vfio-dmabuf: ' "$log" | head -n 1)
	if grep -q '^exit status 0' "$log" || [[ $out != *"supports the kernel series 6.1 6.12 only"* ]]; then
		record FAIL package/dkms-unsupported-series "no failure naming the supported series; log: $log"
	else
		record PASS package/dkms-unsupported-series "${out#vfio-dmabuf: }"
	fi
}

# The intel-iommu guest on 6.12 with the module dkms built.
pkg_boot() {
	local s=6.12 m=x86_64-intel-iommu arch=amd64 ko=$PKG_DIR/vfio_iommu_type1-6.12.ko
	local v=$PKG_DIR/boot-$s-$m line src ours harness why
	mkdir -p "$v"
	if [ ! -f "$ko" ]; then
		record FAIL package/dkms-module-boots "no module from package/dkms-$s-$arch"
		return
	fi
	if [ -z "${ready[guest-$arch]:-}" ] &&
	   ! "$TOP/tests/harness/build-guest.sh" "$arch" >"$v/guest.build.log" 2>&1; then
		record FAIL package/dkms-module-boots "guest programs did not build; log: $v/guest.build.log"
		return
	fi
	if ! VFIO_IOMMU_TYPE1_KO=$ko TEST_EXPORTER=0 TEST= \
	     GUEST_CMD="vfio-dmabuf status;vfio-dmabuf-demo" \
	     "$TOP/tests/harness/mkinitramfs.sh" "$s" "$m" "$v/initramfs.cpio.gz" >"$v/initramfs.log" 2>&1; then
		record FAIL package/dkms-module-boots "initramfs; log: $v/initramfs.log"
		return
	fi
	"$TOP/tests/harness/run-vm.sh" "$m" "$s" "$v/initramfs.cpio.gz" "$v" 2>"$v/runner.log" || {
		record FAIL package/dkms-module-boots "run-vm.sh failed; log: $v/runner.log"
		return
	}
	line=$(grep -m1 '^### module vfio_iommu_type1 ' "$v/console.log")
	ours=$(modinfo -F srcversion "$ko")
	harness=$(modinfo -F srcversion "$VFIO_DMABUF_CACHE/build/$s-$arch/vfio_iommu_type1.ko" 2>/dev/null)
	src=$(sed -n 's/.* srcversion=\([^ ]*\) .*/\1/p' <<<"$line")
	why=
	if [ "$src" != "$ours" ]; then
		why="the guest loaded srcversion '$src', dkms built $ours"
	elif [ "$src" = "$harness" ]; then
		why="the DKMS and the harness builds have the same srcversion: this proves nothing"
	elif [[ $line != *" version=0.2+vfio-dmabuf-$PKG_VERSION "* ]] || [[ $line != *" test-hooks=no" ]]; then
		why="not the production module: $line"
	elif grep -q '^FAIL' "$v/results.tsv"; then
		why="$(grep -m1 '^FAIL' "$v/results.tsv" | cut -f2-)"
	elif ! grep -q '^STATUS: ready' "$v/console.log"; then
		why="'vfio-dmabuf status' did not say ready"
	else
		why=$(demo_output_ok "$v/console.log" "$m")
	fi
	if [ -n "$why" ]; then
		record FAIL package/dkms-module-boots "$why; log: $v/console.log"
	else
		record PASS package/dkms-module-boots "${line#\#\#\# module }; demo passed, status ready"
	fi
}

# examples/ against the -dev package, unpacked, with pkg-config only.
pkg_dev_example() {
	local r=$PKG_DIR/devroot log=$PKG_DIR/dev-example.log ma cflags libs d
	ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	rm -rf "$r" "$PKG_DIR/examples"
	for d in libvfio-dmabuf0 libvfio-dmabuf-dev; do
		dpkg -x "$PKG_DEBS/${d}_${PKG_VERSION}_amd64.deb" "$r"
	done
	export PKG_CONFIG_SYSROOT_DIR=$r PKG_CONFIG_LIBDIR=$r/usr/lib/$ma/pkgconfig
	cflags=$(pkg-config --cflags vfio-dmabuf) && libs=$(pkg-config --libs vfio-dmabuf)
	{
		echo "cflags: $cflags"
		echo "libs: $libs"
		make -C "$TOP/examples" O="$PKG_DIR/examples" VFD_CFLAGS="$cflags" VFD_LIBS="$libs" &&
		printf '#include <vfio-dmabuf.h>\n#include <linux/vfio_dmabuf.h>\nint main(void) { return VFIO_TYPE1_MAP_DMABUF != 60 || !vfd_version(); }\n' |
			gcc -std=c11 -Wall -Werror -x c - $cflags $libs -o "$PKG_DIR/examples/uapi_check" &&
		LD_LIBRARY_PATH=$r/usr/lib/$ma "$PKG_DIR/examples/uapi_check"
	} >"$log" 2>&1
	d=$?
	unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
	if [ $d != 0 ]; then
		record FAIL package/dev-example-builds "log: $log"
	elif ! readelf -d "$PKG_DIR/examples/edu_dmabuf_dma" | grep -q 'NEEDED.*\[libvfio-dmabuf.so.0\]'; then
		record FAIL package/dev-example-builds "edu_dmabuf_dma does not link libvfio-dmabuf.so.0; log: $log"
	else
		record PASS package/dev-example-builds "pkg-config: $cflags $libs; edu_dmabuf_dma needs libvfio-dmabuf.so.0; <linux/vfio_dmabuf.h> found"
	fi
}

check_package() {
	local before after f n tags missing=""
	PKG_DIR=$LOGDIR/package
	PKG_DEBS=$PKG_DIR/debs
	PKG_VERSION=$(sed -n 's/^VERSION := //p' "$TOP/libvfio-dmabuf/Makefile")
	mkdir -p "$PKG_DIR"
	before=$(pkg_host_state)

	msg "[$(elapsed)] make deb"
	if ! make -s -C "$TOP" deb DEB_OUT="$PKG_DEBS" >"$PKG_DIR/deb.log" 2>&1; then
		record FAIL package/debs "make deb failed; log: $PKG_DIR/deb.log"
		return
	fi
	for f in libvfio-dmabuf0_${PKG_VERSION}_amd64 libvfio-dmabuf-dev_${PKG_VERSION}_amd64 \
		 vfio-dmabuf-tools_${PKG_VERSION}_amd64 vfio-dmabuf-dkms_${PKG_VERSION}_all; do
		[ -f "$PKG_DEBS/$f.deb" ] || missing="$missing $f.deb"
		{ echo "== dpkg -c $f.deb"; dpkg -c "$PKG_DEBS/$f.deb"; } >>"$PKG_DIR/contents.txt" 2>&1
	done
	PKG_SRCTREE=$PKG_DIR/dkms-deb/usr/src
	rm -rf "$PKG_DIR/dkms-deb"
	dpkg -x "$PKG_DEBS/vfio-dmabuf-dkms_${PKG_VERSION}_all.deb" "$PKG_DIR/dkms-deb" 2>/dev/null
	if [ -n "$missing" ]; then
		record FAIL package/debs "missing:$missing; log: $PKG_DIR/deb.log"
		return
	elif ! dpkg-deb -I "$PKG_DEBS/libvfio-dmabuf0_${PKG_VERSION}_amd64.deb" symbols >/dev/null 2>&1; then
		record FAIL package/debs "libvfio-dmabuf0 has no symbols file"
		return
	elif [ ! -f "$PKG_SRCTREE/vfio-dmabuf-$PKG_VERSION/dkms.conf" ] ||
	     [ -n "$(find "$PKG_SRCTREE" -name '*_test*')" ]; then
		record FAIL package/debs "the dkms package has no dkms.conf, or test hooks"
		return
	fi
	record PASS package/debs "4 packages in $PKG_DEBS; contents: $PKG_DIR/contents.txt"

	msg "[$(elapsed)] lintian"
	lintian --info --display-info --pedantic "$PKG_DEBS"/libvfio-dmabuf0_*.deb \
		"$PKG_DEBS"/libvfio-dmabuf-dev_*.deb "$PKG_DEBS"/vfio-dmabuf-tools_*.deb \
		"$PKG_DEBS"/vfio-dmabuf-dkms_*.deb >"$PKG_DIR/lintian.log" 2>&1
	f=$?
	n=$(grep -c '^E: ' "$PKG_DIR/lintian.log")
	tags=$(grep -E '^[WIP]: ' "$PKG_DIR/lintian.log" | cut -d' ' -f1-3 | sort -u | tr '\n' ';' | sed 's/;$//')
	if [ "$f" -gt 1 ]; then
		record FAIL package/lintian "lintian did not run (exit status $f); log: $PKG_DIR/lintian.log"
	elif [ "$n" != 0 ]; then
		record FAIL package/lintian "$n errors: $(grep '^E: ' "$PKG_DIR/lintian.log" | cut -d' ' -f2-3 | sort -u | tr '\n' ';'); log: $PKG_DIR/lintian.log"
	else
		record PASS package/lintian "no errors; warnings, infos, pedantic: ${tags:-none}"
	fi

	msg "[$(elapsed)] dkms build, install, remove (6.12, 6.1; private trees)"
	pkg_dkms 6.12
	pkg_dkms 6.1
	pkg_dkms_unsupported
	after=$(pkg_host_state)
	[ "$before" = "$after" ] ||
		record FAIL package/host-untouched "/var/lib/dkms or /lib/modules changed: $(diff <(echo "$before") <(echo "$after") | head -n 5 | tr '\n' ' ')"

	msg "[$(elapsed)] 6.12/x86_64-intel-iommu with the DKMS module"
	pkg_boot
	pkg_dev_example
}
