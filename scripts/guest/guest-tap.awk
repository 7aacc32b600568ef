# SPDX-License-Identifier: MIT
#
# Turn the guest's result channel (ttyS1, written by scripts/guest/init) into
# one flat TAP stream: one line per test case of every guest test binary,
# plus one for loading the kernel modules.  Prints no plan: run.sh adds its
# own lines and the plan.
#
# Variables: start (number of the first TAP line), expected (the test
# binaries the guest should run, space separated), dmesg_file (receives the
# guest's dmesg dump), state_file (summary for run.sh: "next N", "failed N",
# "completed 0|1").

function emit(ok, desc) {
	printf "%s %d %s\n", ok ? "ok" : "not ok", n, desc
	n++
	if (!ok)
		failed++
}

function report_modules() {
	if (mods_reported)
		return
	mods_reported = 1
	if (nmods == 0)
		print "# guest: no kernel modules in the initramfs"
	else if (bad_mod == "")
		emit(1, "guest: load modules " mods)
	else
		emit(0, "guest: load modules: " bad_mod " failed (loaded before it: " mods ")")
}

# A test binary ended with status rc: add a line for what its own TAP
# output did not say (a crash, a short run, a failure without a result).
function finish_test(rc) {
	if (results < plan)
		emit(0, cur ": only " results " of " plan " planned results (status " rc ")")
	else if (results == 0 && plan == 0) {
		# Not a TAP producer: the binary itself is the test case.
		if (rc == 4)
			emit(1, cur " # SKIP exited with KSFT_SKIP")
		else
			emit(rc == 0, cur (rc == 0 ? "" : ": exited with status " rc))
	} else if (rc != 0 && rc != 4 && fails == 0)
		emit(0, cur ": exited with status " rc)
	ran[cur] = 1
	cur = ""
}

BEGIN {
	n = start + 0
	failed = 0
	completed = 0
	cur = ""
	nmods = 0
	bad_mod = ""
	ntests = split(expected, listed, " ")
}

{ sub(/\r$/, "") }

in_dmesg && /^# mlu-guest: dmesg end/ { in_dmesg = 0; next }
in_dmesg { print > dmesg_file; next }

/^# mlu-guest: start / {
	sub(/^# mlu-guest: start /, "# guest: ")
	print
	next
}
/^# mlu-guest: tests/ {
	sub(/^# mlu-guest: tests */, "")
	if (ntests == 0)
		ntests = split($0, listed, " ")
	next
}
/^# mlu-guest: insmod / {
	if ($5 != "rc=0" && bad_mod == "")
		bad_mod = $4 " (" $5 ")"
	if (bad_mod == "")
		mods = mods (nmods ? " " : "") $4
	nmods++
	next
}
/^# mlu-guest: begin / {
	report_modules()
	cur = $4
	plan = 0
	results = 0
	fails = 0
	next
}
/^# mlu-guest: end / {
	rc = $5
	sub(/^rc=/, "", rc)
	if (cur != "")
		finish_test(rc + 0)
	next
}
/^# mlu-guest: dmesg begin/ { in_dmesg = 1; printf "" > dmesg_file; next }
/^# mlu-guest: done/ { completed = 1; next }

cur != "" && /^1\.\.[0-9]+/ {
	plan = substr($1, 4) + 0
	next
}
cur != "" && /^(not )?ok [0-9]+/ {
	ok = ($1 == "ok")
	line = $0
	sub(/^(not )?ok [0-9]+ (- )?/, "", line)
	emit(ok, cur ": " line)
	results++
	if (!ok)
		fails++
	next
}
/^#/ { print; next }
{ print "# " $0 }

END {
	report_modules()
	if (cur != "") {
		emit(0, cur ": did not finish (guest crashed, hung or timed out)")
		ran[cur] = 1
	}
	for (i = 1; i <= ntests; i++)
		if (!(listed[i] in ran))
			emit(0, listed[i] ": not run")
	printf "next %d\nfailed %d\ncompleted %d\n", n, failed, completed > state_file
}
