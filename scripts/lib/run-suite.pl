#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# Run one test suite under TAP::Parser, the parser of prove and TAP::Harness
# (Debian's perl), for scripts/check.sh.
#
# Usage: run-suite.pl SUITE LOG COUNTS
#
# SUITE's stdout and stderr go, merged, to LOG; its results, "Bail out!"
# lines and the figure lines ("fuzz: ...", "isa: ...") to stdout as they
# come.  COUNTS receives one line "PASSED FAILED SKIPPED":
# - a result is skipped when it is "ok" with a SKIP directive, passed when
#   it is any other "ok", failed when it is "not ok" (a TODO directive
#   changes nothing: the project has no TODO tests);
# - every error of the stream itself (no plan or two, a plan the results
#   do not match, numbers out of sequence, a version line that is not the
#   first) is one more failure, printed as "not ok - SUITE: TAP: ...";
# - a suite that exits non-zero, or dies of a signal, without any failure
#   above counts as one failure, so a crash can never look like a pass.
# Exit status: 0 when nothing failed.
use strict;
use warnings;
use File::Basename qw(basename);
use TAP::Parser;

die "usage: run-suite.pl SUITE LOG COUNTS\n" unless @ARGV == 3;
my ($suite, $log, $counts) = @ARGV;
my $name = basename($suite, '.sh');

open(my $log_fh, '>', $log) or die "run-suite: $log: $!\n";
$log_fh->autoflush(1);
STDOUT->autoflush(1);

my $show = qr/^(?:(?:not )?ok |# (?:SKIP|FAIL)|Bail out!|fuzz: |isa: )/;
my $parser = TAP::Parser->new({ exec => [$suite], merge => 1 });
my ($passed, $failed, $skipped) = (0, 0, 0);

while (my $result = $parser->next) {
	my $raw = $result->raw;
	print $log_fh "$raw\n";
	print "$raw\n" if $raw =~ $show;
	next unless $result->is_test;
	if ($result->is_actual_ok) {
		if ($result->has_skip) {
			$skipped++;
		} else {
			$passed++;
		}
	} else {
		$failed++;
	}
}

for my $error ($parser->parse_errors) {
	my $line = "not ok - $name: TAP: $error";
	print "$line\n";
	print $log_fh "$line\n";
	$failed++;
}

my $wait = $parser->wait // 0;
if ($wait != 0 && $failed == 0) {
	my $how = $wait & 127 ? 'was killed by signal ' . ($wait & 127)
			      : 'exited with status ' . ($wait >> 8);
	my $line = "not ok - $name: suite $how without a TAP failure (see $log)";
	print "$line\n";
	print $log_fh "$line\n";
	$failed = 1;
}
close($log_fh);

open(my $counts_fh, '>', $counts) or die "run-suite: $counts: $!\n";
print $counts_fh "$passed $failed $skipped\n";
close($counts_fh);
exit($failed ? 1 : 0);
