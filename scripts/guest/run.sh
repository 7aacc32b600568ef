#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Boot a QEMU guest (q35, TCG) with N emulated MLU cards from an initramfs
# made by mkinitramfs.sh, run the guest tests and print their results as TAP.
#
# Usage: run.sh [options] [-- extra QEMU arguments]
#   --cards N          MLU cards, each behind its own PCIe root port (1)
#   --card-opts OPTS   extra properties for every card, e.g. "queues=4"
#   --initrd FILE      initramfs (build/guest/initramfs.cpio.gz)
#   --kernel FILE      guest kernel (/boot/vmlinuz-<newest 6.12>)
#   --qemu FILE        qemu-system-x86_64 (the one scripts/build-qemu.sh built)
#   --tests a,b        run only these guest test binaries
#   --timeout S        kill the guest after S seconds (900)
#   --poweroff-grace S kill the guest when it is still running S seconds
#                      after its tests ended (10): a guest that cannot
#                      power off (kernel stuck, init hung) fails fast
#   --test-timeout S   per test binary limit inside the guest (600)
#   --smp N, --mem M   guest CPUs (2) and memory (1G)
#   --name NAME        log file prefix under build/logs/ (guest)
#   --tap-start N      number of the first TAP line (1), to continue a stream
#   --append ARGS      more kernel command line arguments
#   --hotplug          QMP socket plus scripts/guest/qmp-agent.py, which
#                      unplugs/re-adds card N when the guest asks for it
#                      (Documentation/testing.rst, "Hot unplug")
#   --shell            interactive busybox shell on this terminal instead
#                      (Ctrl-A x quits QEMU); nothing is parsed
#
# Results: one TAP line per guest test case, one for loading the modules,
# one for the guest running to completion and powering off, and one for
# the kernel log, which fails on any WARNING, BUG, Oops, KASAN/UBSAN,
# lockdep or hung-task report or panic (the report is printed as TAP
# comments).  Exit status 0 when every line is "ok".
# Logs: build/logs/NAME.{console,tap,dmesg,qemu}.log.
set -uo pipefail

. "$(dirname "$0")/common.sh"

cards=1
card_opts=
initrd=$guest_build/initramfs.cpio.gz
kernel=
qemu=
tests=
timeout_s=900
grace=10
append=
test_timeout=600
smp=2
mem=1G
name=guest
tap_start=1
shell=0
hotplug=0
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cards) cards=$2; shift 2 ;;
	--card-opts) card_opts=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--qemu) qemu=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--poweroff-grace) grace=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--test-timeout) test_timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--tap-start) tap_start=$2; shift 2 ;;
	--shell) shell=1; shift ;;
	--hotplug) hotplug=1; shift ;;
	--) shift; extra=("$@"); break ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

# Infrastructure failure before the guest could run: one failing TAP line.
bail() {
	echo "not ok $tap_start guest: $*"
	echo "1..$tap_start"
	exit 1
}

if [ -z "$kernel" ]; then
	kver=$(guest_kver) || bail "no guest kernel installed"
	kernel=/boot/vmlinuz-$kver
fi
if [ -z "$qemu" ]; then
	qemu=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}/qemu-build-release/qemu-system-x86_64
	[ -x "$qemu" ] || qemu=$("$guest_top/scripts/build-qemu.sh") || bail "QEMU build failed"
fi
[ -r "$kernel" ] || bail "kernel $kernel not readable"
[ -r "$initrd" ] || bail "initramfs $initrd missing (scripts/guest/mkinitramfs.sh)"
[ -x "$qemu" ] || bail "QEMU binary $qemu missing"

# sata=off: SeaBIOS spends ~30 s probing the q35 AHCI controller when it has
# no disks; the guest needs neither it nor a display.
args=(-M q35,sata=off -vga none -accel tcg -cpu max -m "$mem" -smp "$smp" -nographic -no-reboot
      -nic none -L /usr/share/seabios -L /usr/share/qemu
      -kernel "$kernel" -initrd "$initrd")
for ((i = 0; i < cards; i++)); do
	args+=(-device "pcie-root-port,id=mlu_rp$i,chassis=$((i + 1))"
	       -device "mlu,bus=mlu_rp$i,id=mlu$i${card_opts:+,$card_opts}")
done
cmdline="console=ttyS0 panic=-1 quiet mlu_cards=$cards mlu_timeout=$test_timeout"
[ -n "$tests" ] && cmdline+=" mlu_tests=$tests"
[ "$hotplug" = 1 ] && cmdline+=" mlu_hotplug=1"
[ -n "$append" ] && cmdline+=" $append"

if [ "$shell" = 1 ]; then
	exec "$qemu" "${args[@]}" -append "$cmdline mlu_guest=shell" "${extra[@]}"
fi

logs=$guest_top/build/logs
mkdir -p "$logs"
console=$logs/$name.console.log
tap=$logs/$name.tap.log
dmesg=$logs/$name.dmesg.log
qlog=$logs/$name.qemu.log
rm -f "$console" "$tap" "$dmesg" "$qlog"
: >"$dmesg"

agent=
if [ "$hotplug" = 1 ]; then
	qmp_sock=$logs/$name.qmp.sock
	rm -f "$qmp_sock" "$logs/$name.qmp.log"
	# Native PCIe hot plug (pciehp) on the root ports, the same for every
	# kernel, rather than q35's default ACPI hot plug.
	extra+=(-qmp "unix:$qmp_sock,server=on,wait=off"
		-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off)
	/usr/bin/python3 "$guest_top/scripts/guest/qmp-agent.py" "$tap" "$qmp_sock" \
		"$logs/$name.qmp.log" &
	agent=$!
fi

start=$(date +%s)
"$qemu" "${args[@]}" -append "$cmdline mlu_guest=test" \
	-serial "file:$console" -serial "file:$tap" -monitor none \
	"${extra[@]}" </dev/null >"$qlog" 2>&1 &
qpid=$!
# Background jobs of a script ignore SIGINT: pass an interrupt on to QEMU.
trap 'kill "$qpid" 2>/dev/null; exit 130' INT
trap 'kill "$qpid" 2>/dev/null; exit 143' TERM
# Watchdog: the guest gets --timeout seconds in all, and --poweroff-grace
# seconds from init's last marker ("# mlu-guest: done", after the tests and
# the dmesg dump) to power off.  A guest that ran its tests but cannot power
# off (a kernel stuck after a warning, a hung init) is stopped within
# seconds rather than at the timeout.  It writes why it stopped QEMU to
# $killed: QEMU exits with status 0 on SIGTERM, so its status cannot say.
killed=$(mktemp)
trap 'rm -f "$killed" "${state:-}"' EXIT
(
	SECONDS=0
	since=
	while kill -0 "$qpid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$timeout_s" ]; then
			echo "timed out after $timeout_s s" >"$killed"
			break
		fi
		if [ -z "$since" ]; then
			if grep -aq '^# mlu-guest: done' "$tap" 2>/dev/null; then
				since=$SECONDS
			fi
		elif [ $((SECONDS - since)) -ge "$grace" ]; then
			echo "did not power off within $grace s after its tests ended" >"$killed"
			break
		fi
		sleep 0.5
	done
	[ -s "$killed" ] || exit 0
	kill -TERM "$qpid" 2>/dev/null
	for _ in $(seq 20); do
		kill -0 "$qpid" 2>/dev/null || exit 0
		sleep 0.5
	done
	kill -KILL "$qpid" 2>/dev/null
) &
watchdog=$!
wait "$qpid"
qrc=$?
wait "$watchdog"
why_killed=$(cat "$killed")
trap - INT TERM
if [ -n "$agent" ]; then
	kill "$agent" 2>/dev/null
	wait "$agent" 2>/dev/null
fi
elapsed=$(($(date +%s) - start))
touch "$console" "$tap"

# The tests the guest should run: the initramfs's list, filtered by --tests.
expected=
for t in $(gzip -dc "$initrd" | cpio -i --quiet --to-stdout etc/mlu/tests 2>/dev/null); do
	if [ -z "$tests" ] || [[ ",$tests," == *",$t,"* ]]; then
		expected+=" $t"
	fi
done

state=$(mktemp)
awk -v start="$tap_start" -v expected="$expected" -v dmesg_file="$dmesg" -v state_file="$state" \
	-f "$guest_top/scripts/guest/guest-tap.awk" "$tap"
n=$(awk '$1 == "next" { print $2 }' "$state")
failed=$(awk '$1 == "failed" { print $2 }' "$state")
completed=$(awk '$1 == "completed" { print $2 }' "$state")

if [ "$completed" = 1 ] && [ "$qrc" = 0 ] && [ -z "$why_killed" ]; then
	echo "ok $n guest: ran to completion and powered off (${elapsed} s)"
else
	if [ -n "$why_killed" ]; then
		why=$why_killed
	else
		case "$qrc" in
		0) why="powered off before finishing" ;;
		*) why="QEMU exited with status $qrc" ;;
		esac
	fi
	echo "not ok $n guest: $why (see $console)"
	sed 's/^/# qemu: /' "$qlog" | tail -n 20
	failed=$((failed + 1))
fi
n=$((n + 1))

# Kernel problems, as printed on the console or kept in the dmesg buffer.
bad='WARNING:|BUG:|Oops|KASAN|UBSAN|cut here|Kernel panic|general protection fault'
bad+='|INFO: (possible|inconsistent|trying to register)|suspicious RCU usage'
bad+='|lockdep|blocked for more than|rcu.*detected stall|Call Trace:'
bad+='|suspected memory leak|list_(add|del) corruption|refcount_t: '
bad+='|DMA-API: .*device driver'
# Banners of debug kernels that name a checker without reporting anything.
benign='RCU lockdep checking is enabled'
report=
for f in "$console" "$dmesg"; do
	# grep -c reads to the end: no SIGPIPE for pipefail to see.
	if [ "$(grep -avE "$benign" "$f" | grep -acE "$bad")" != 0 ]; then
		report=$f
		break
	fi
done
if ! grep -aqE '^\[ *[0-9]+\.[0-9]+\]' "$console" "$dmesg"; then
	echo "ok $n guest: kernel log check # SKIP no kernel output (the guest did not boot)"
elif [ -z "$report" ]; then
	echo "ok $n guest: kernel log free of warnings, oopses and lockdep reports"
else
	first=$(grep -anE "$bad" "$report" | grep -avE "$benign" | head -n 1 | cut -d: -f1)
	echo "not ok $n guest: kernel log has a report ($(basename "$report"), line $first)"
	sed -n "$((first > 5 ? first - 5 : 1)),$((first + 40))p" "$report" |
		tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/^/#   /'
	failed=$((failed + 1))
fi
echo "1..$n"
echo "# guest: $((n - tap_start + 1)) results, $failed failed; logs in $logs/$name.*.log"
[ "$failed" = 0 ]
