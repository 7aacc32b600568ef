// SPDX-License-Identifier: MIT
/*
 * mlu-smi: status of the MLU cards of this machine and of the processes
 * using them, in the manner of nvidia-smi and cnmon.
 *
 * Everything comes from the kernel's standard interfaces: the driver's
 * sysfs group (/sys/class/accel/accel<N>/device/mlu/, see
 * Documentation/ABI/testing/sysfs-driver-mlu), the card's hwmon device and
 * the DRM fdinfo of every open accel file (/proc/<pid>/fdinfo/<fd>, keys
 * of the kernel's Documentation/gpu/drm-usage-stats.rst).  The manual is
 * Documentation/tools/mlu-smi.rst.
 *
 * Copyright (c) 2026 The MLU stack authors
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define MLU_PCI_VENDOR		"0x1af4"
#define MLU_PCI_DEVICE		"0x10fa"

/* Exit codes (Documentation/tools.rst). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_NO_DRIVER = 2,
	EXIT_NO_CARD = 3,
	EXIT_NO_PERMISSION = 4,
};

#define MAX_CARDS	64
#define MAX_ENGINES	16

struct client {
	int pid;
	char name[32];
	uint64_t client_id;
	uint64_t memory_bytes;		/* drm-total-* */
	uint64_t resident_bytes;	/* drm-resident-* */
	int engines;
	char engine_name[MAX_ENGINES][32];
	uint64_t engine_ns[MAX_ENGINES];	/* drm-engine-* */
};

struct card {
	int index;			/* N of /dev/accel/accelN */
	char dir[PATH_MAX];		/* the driver's sysfs group */
	char hwmon[PATH_MAX];		/* hwmon device, "" without sensors */
	char pci[64];
	char serial[32];
	char hw_version[16];
	char health[16];
	long long numa_node;
	long long mem_total, mem_used, busy_ns, utilization;
	long long jobs_submitted, jobs_completed, jobs_failed;
	long long mmu_faults, resets;
	long long temp_mc, temp_crit_mc, power_uw, power_max_uw;
	struct client *clients;
	int nclients;
};

static const char *sysfs_root = "/sys";
static const char *proc_root = "/proc";
static bool other_users_hidden;
static volatile sig_atomic_t stop;

/* Format a path; false (and an empty path) when it does not fit. */
static bool __attribute__((format(printf, 3, 4)))
pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= size) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

/* Read a one-line file into @buf without its newline: 0 or -errno. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return -errno;
	if (!fgets(buf, size, f)) {
		err = ferror(f) ? -EIO : -ENODATA;
		fclose(f);
		return err;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A number file; -1 when it is missing (an older driver). */
static long long read_ll(const char *dir, const char *name, int *err)
{
	char path[PATH_MAX], buf[64], *end;
	long long v;
	int ret;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	ret = read_line(path, buf, sizeof(buf));
	if (ret) {
		if (ret == -EACCES || ret == -EPERM)
			*err = ret;
		return -1;
	}
	errno = 0;
	v = strtoll(buf, &end, 0);
	return errno || end == buf ? -1 : v;
}

static void read_str(const char *dir, const char *name, char *buf,
		     size_t size, int *err)
{
	char path[PATH_MAX];
	int ret;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	ret = read_line(path, buf, size);
	if (ret) {
		if (ret == -EACCES || ret == -EPERM)
			*err = ret;
		snprintf(buf, size, "?");
	}
}

/* The card's hwmon device: the one named "mlu" under the PCI device. */
static void find_hwmon(const char *pcidir, char *out, size_t size)
{
	char dir[PATH_MAX], path[PATH_MAX], name[32];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	pathf(dir, sizeof(dir), "%s/hwmon", pcidir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "hwmon", 5))
			continue;
		pathf(path, sizeof(path), "%s/%s/name", dir, de->d_name);
		if (!read_line(path, name, sizeof(name)) && !strcmp(name, "mlu")) {
			pathf(out, size, "%s/%s", dir, de->d_name);
			break;
		}
	}
	closedir(d);
}

static int read_card(struct card *c, int index, int *err)
{
	char pcidir[PATH_MAX];

	memset(c, 0, sizeof(*c));
	c->index = index;
	pathf(pcidir, sizeof(pcidir), "%s/class/accel/accel%d/device",
		 sysfs_root, index);
	pathf(c->dir, sizeof(c->dir), "%s/mlu", pcidir);
	if (access(c->dir, F_OK))
		return -ENOENT;		/* another driver's accel device */

	read_str(c->dir, "pci_address", c->pci, sizeof(c->pci), err);
	read_str(c->dir, "serial", c->serial, sizeof(c->serial), err);
	read_str(c->dir, "hw_version", c->hw_version, sizeof(c->hw_version), err);
	read_str(c->dir, "health", c->health, sizeof(c->health), err);
	c->numa_node = read_ll(c->dir, "numa_node", err);
	c->mem_total = read_ll(c->dir, "mem_total", err);
	c->mem_used = read_ll(c->dir, "mem_used", err);
	c->busy_ns = read_ll(c->dir, "busy_time_ns", err);
	c->utilization = read_ll(c->dir, "utilization", err);
	c->jobs_submitted = read_ll(c->dir, "jobs_submitted", err);
	c->jobs_completed = read_ll(c->dir, "jobs_completed", err);
	c->jobs_failed = read_ll(c->dir, "jobs_failed", err);
	c->mmu_faults = read_ll(c->dir, "mmu_faults", err);
	c->resets = read_ll(c->dir, "resets", err);

	c->temp_mc = c->temp_crit_mc = c->power_uw = c->power_max_uw = -1;
	find_hwmon(pcidir, c->hwmon, sizeof(c->hwmon));
	if (c->hwmon[0]) {
		int ignore = 0;

		c->temp_mc = read_ll(c->hwmon, "temp1_input", &ignore);
		c->temp_crit_mc = read_ll(c->hwmon, "temp1_crit", &ignore);
		c->power_uw = read_ll(c->hwmon, "power1_input", &ignore);
		c->power_max_uw = read_ll(c->hwmon, "power1_max", &ignore);
	}
	return 0;
}

static int card_cmp(const void *a, const void *b)
{
	return ((const struct card *)a)->index - ((const struct card *)b)->index;
}

/* Every card bound to the mlu driver, by accel index. */
static int scan_cards(struct card *cards, int *err)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	pathf(dir, sizeof(dir), "%s/class/accel", sysfs_root);
	d = opendir(dir);
	if (!d) {
		if (errno == EACCES || errno == EPERM)
			*err = -errno;
		return 0;
	}
	while ((de = readdir(d)) && n < MAX_CARDS) {
		char *end;
		long idx;

		if (strncmp(de->d_name, "accel", 5) || !isdigit(de->d_name[5]))
			continue;
		idx = strtol(de->d_name + 5, &end, 10);
		if (*end || idx < 0 || idx > INT_MAX)
			continue;
		if (!read_card(&cards[n], idx, err))
			n++;
	}
	closedir(d);
	qsort(cards, n, sizeof(*cards), card_cmp);
	return n;
}

/* MLU functions on the PCI bus, bound or not. */
static int count_pci_cards(void)
{
	char dir[PATH_MAX], vendor[16], device[16], path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	pathf(dir, sizeof(dir), "%s/bus/pci/devices", sysfs_root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pathf(path, sizeof(path), "%s/%s/vendor", dir, de->d_name);
		if (read_line(path, vendor, sizeof(vendor)))
			continue;
		pathf(path, sizeof(path), "%s/%s/device", dir, de->d_name);
		if (read_line(path, device, sizeof(device)))
			continue;
		if (!strcmp(vendor, MLU_PCI_VENDOR) && !strcmp(device, MLU_PCI_DEVICE))
			n++;
	}
	closedir(d);
	return n;
}

static bool driver_loaded(void)
{
	char path[PATH_MAX];

	pathf(path, sizeof(path), "%s/module/mlu", sysfs_root);
	if (!access(path, F_OK))
		return true;
	pathf(path, sizeof(path), "%s/bus/pci/drivers/mlu", sysfs_root);
	return !access(path, F_OK);
}

/* "123 KiB" and friends, as drm-total-* prints them, in bytes. */
static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	while (*end == ' ' || *end == '\t')
		end++;
	if (!strncmp(end, "KiB", 3))
		v <<= 10;
	else if (!strncmp(end, "MiB", 3))
		v <<= 20;
	else if (!strncmp(end, "GiB", 3))
		v <<= 30;
	return v;
}

/* Parse one fdinfo file; true when it is an mlu client of @pci. */
static bool parse_fdinfo(FILE *f, struct client *cl, char *pci, size_t pcisz)
{
	char line[256];
	bool mlu = false;

	memset(cl, 0, sizeof(*cl));
	pci[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, ':');

		if (!val)
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		val[strcspn(val, "\n")] = '\0';
		if (!strcmp(line, "drm-driver")) {
			mlu = !strcmp(val, "mlu");
		} else if (!strcmp(line, "drm-pdev")) {
			snprintf(pci, pcisz, "%s", val);
		} else if (!strcmp(line, "drm-client-id")) {
			cl->client_id = strtoull(val, NULL, 10);
		} else if (!strncmp(line, "drm-total-", 10)) {
			cl->memory_bytes += parse_size(val);
		} else if (!strncmp(line, "drm-resident-", 13)) {
			cl->resident_bytes += parse_size(val);
		} else if (!strncmp(line, "drm-engine-", 11) &&
			   strncmp(line, "drm-engine-capacity-", 20) &&
			   cl->engines < MAX_ENGINES) {
			char *name = cl->engine_name[cl->engines];
			size_t len = strnlen(line + 11, sizeof(cl->engine_name[0]) - 1);

			memcpy(name, line + 11, len);
			name[len] = '\0';
			cl->engine_ns[cl->engines++] = strtoull(val, NULL, 10);
		}
	}
	return mlu;
}

static struct card *card_by_pci(struct card *cards, int n, const char *pci)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(cards[i].pci, pci))
			return &cards[i];
	return NULL;
}

static void add_client(struct card *c, const struct client *cl)
{
	struct client *grown;
	int i;

	/* A dup()ed or inherited file is the same client. */
	for (i = 0; i < c->nclients; i++)
		if (c->clients[i].client_id == cl->client_id)
			return;
	grown = realloc(c->clients, (c->nclients + 1) * sizeof(*grown));
	if (!grown)
		return;
	c->clients = grown;
	c->clients[c->nclients++] = *cl;
}

static void scan_process(struct card *cards, int n, const char *pid)
{
	char dir[PATH_MAX], path[PATH_MAX], comm[32] = "?", pci[64];
	struct dirent *de;
	struct client cl;
	DIR *d;

	pathf(dir, sizeof(dir), "%s/%s/fdinfo", proc_root, pid);
	d = opendir(dir);
	if (!d) {
		if (errno == EACCES || errno == EPERM)
			other_users_hidden = true;
		return;
	}
	pathf(path, sizeof(path), "%s/%s/comm", proc_root, pid);
	read_line(path, comm, sizeof(comm));
	while ((de = readdir(d))) {
		struct card *c;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		pathf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		c = parse_fdinfo(f, &cl, pci, sizeof(pci)) ?
		    card_by_pci(cards, n, pci) : NULL;
		fclose(f);
		if (c) {
			cl.pid = atoi(pid);
			snprintf(cl.name, sizeof(cl.name), "%s", comm);
			add_client(c, &cl);
		}
	}
	closedir(d);
}

static void scan_processes(struct card *cards, int n)
{
	struct dirent *de;
	DIR *d = opendir(proc_root);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (isdigit(de->d_name[0]))
			scan_process(cards, n, de->d_name);
	closedir(d);
}

static void free_cards(struct card *cards, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(cards[i].clients);
}

static uint64_t client_busy_ns(const struct client *cl)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < cl->engines; i++)
		sum += cl->engine_ns[i];
	return sum;
}

/* ---- output ------------------------------------------------------------ */

static json_object *json_num(long long v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *card_json(const struct card *c)
{
	json_object *o = json_object_new_object(), *procs, *mem, *jobs;
	int i, e;

	json_object_object_add(o, "index", json_object_new_int(c->index));
	json_object_object_add(o, "pci_address", json_object_new_string(c->pci));
	json_object_object_add(o, "serial", json_object_new_string(c->serial));
	json_object_object_add(o, "hw_version", json_object_new_string(c->hw_version));
	json_object_object_add(o, "numa_node", json_object_new_int64(c->numa_node));
	json_object_object_add(o, "health", json_object_new_string(c->health));
	mem = json_object_new_object();
	json_object_object_add(mem, "total_bytes", json_num(c->mem_total));
	json_object_object_add(mem, "used_bytes", json_num(c->mem_used));
	json_object_object_add(o, "memory", mem);
	json_object_object_add(o, "utilization_percent", json_num(c->utilization));
	json_object_object_add(o, "temperature_mc", json_num(c->temp_mc));
	json_object_object_add(o, "temperature_crit_mc", json_num(c->temp_crit_mc));
	json_object_object_add(o, "power_mw",
			       json_num(c->power_uw < 0 ? -1 : c->power_uw / 1000));
	json_object_object_add(o, "power_limit_mw",
			       json_num(c->power_max_uw < 0 ? -1 : c->power_max_uw / 1000));
	json_object_object_add(o, "busy_time_ns", json_num(c->busy_ns));
	jobs = json_object_new_object();
	json_object_object_add(jobs, "submitted", json_num(c->jobs_submitted));
	json_object_object_add(jobs, "completed", json_num(c->jobs_completed));
	json_object_object_add(jobs, "failed", json_num(c->jobs_failed));
	json_object_object_add(o, "jobs", jobs);
	json_object_object_add(o, "mmu_faults", json_num(c->mmu_faults));
	json_object_object_add(o, "resets", json_num(c->resets));

	procs = json_object_new_array();
	for (i = 0; i < c->nclients; i++) {
		const struct client *cl = &c->clients[i];
		json_object *p = json_object_new_object(), *eng;

		json_object_object_add(p, "pid", json_object_new_int(cl->pid));
		json_object_object_add(p, "name", json_object_new_string(cl->name));
		json_object_object_add(p, "client_id", json_object_new_int64(cl->client_id));
		json_object_object_add(p, "memory_bytes", json_object_new_int64(cl->memory_bytes));
		json_object_object_add(p, "resident_bytes", json_object_new_int64(cl->resident_bytes));
		json_object_object_add(p, "busy_ns", json_object_new_int64(client_busy_ns(cl)));
		eng = json_object_new_object();
		for (e = 0; e < cl->engines; e++)
			json_object_object_add(eng, cl->engine_name[e],
					       json_object_new_int64(cl->engine_ns[e]));
		json_object_object_add(p, "engines_ns", eng);
		json_object_array_add(procs, p);
	}
	json_object_object_add(o, "processes", procs);
	return o;
}

static void print_json(const struct card *cards, int n)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	int i;

	json_object_object_add(root, "timestamp", json_object_new_int64(time(NULL)));
	for (i = 0; i < n; i++)
		json_object_array_add(arr, card_json(&cards[i]));
	json_object_object_add(root, "cards", arr);
	json_object_object_add(root, "processes_of_other_users_hidden",
			       json_object_new_boolean(other_users_hidden));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void fmt_mib(char *buf, size_t size, long long bytes)
{
	if (bytes < 0)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%lld MiB", bytes >> 20);
}

static void fmt_milli(char *buf, size_t size, long long v, const char *unit)
{
	if (v < 0 && strcmp(unit, "C"))
		snprintf(buf, size, "N/A");
	else
		snprintf(buf, size, "%.1f %s", v / 1000.0, unit);
}

static void print_table(const struct card *cards, int n)
{
	time_t now = time(NULL);
	int i, j, clients = 0;
	char when[64];

	strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", localtime(&now));
	printf("mlu-smi  %d card%s  %s\n\n", n, n == 1 ? "" : "s", when);
	printf("%-4s %-13s %21s %5s %8s %17s  %s\n", "IDX", "PCI ADDRESS",
	       "MEMORY USED / TOTAL", "UTIL", "TEMP", "POWER / LIMIT", "HEALTH");
	for (i = 0; i < n; i++) {
		const struct card *c = &cards[i];
		char used[24], total[24], util[24], temp[24], power[24], limit[24];

		fmt_mib(used, sizeof(used), c->mem_used);
		fmt_mib(total, sizeof(total), c->mem_total);
		if (c->utilization < 0)
			snprintf(util, sizeof(util), "N/A");
		else
			snprintf(util, sizeof(util), "%lld%%", c->utilization);
		if (c->temp_mc == -1 && !c->hwmon[0])
			snprintf(temp, sizeof(temp), "N/A");
		else
			fmt_milli(temp, sizeof(temp), c->temp_mc, "C");
		fmt_milli(power, sizeof(power), c->power_uw < 0 ? -1 : c->power_uw / 1000, "W");
		fmt_milli(limit, sizeof(limit),
			  c->power_max_uw < 0 ? -1 : c->power_max_uw / 1000, "W");
		printf("%4d %-13s %9s / %9s %5s %8s %7s / %7s  %s\n", c->index,
		       c->pci, used, total, util, temp, power, limit, c->health);
	}

	printf("\n%-4s %-8s %-16s %-8s %12s %14s\n", "IDX", "PID", "PROCESS",
	       "CLIENT", "MEMORY", "BUSY");
	for (i = 0; i < n; i++)
		clients += cards[i].nclients;
	if (!clients)
		printf("(no processes are using the cards)\n");
	for (i = 0; i < n; i++) {
		for (j = 0; j < cards[i].nclients; j++) {
			const struct client *cl = &cards[i].clients[j];
			char mem[24];

			snprintf(mem, sizeof(mem), "%.1f MiB", cl->memory_bytes / 1048576.0);
			printf("%4d %-8d %-16s %-8" PRIu64 " %12s %12.3f s\n",
			       cards[i].index, cl->pid, cl->name, cl->client_id, mem,
			       client_busy_ns(cl) / 1e9);
		}
	}
	if (other_users_hidden)
		printf("(processes of other users are hidden; run as root to see them)\n");
}

/* "label : value unit", or N/A for a value the card does not report. */
static void print_field(const char *label, long long v, double scale,
			const char *fmt_unit)
{
	printf("    %-22s: ", label);
	if (v < 0) {
		printf("N/A\n");
		return;
	}
	if (scale == 1)
		printf("%lld", v);
	else
		printf("%.3f", v / scale);
	printf("%s\n", fmt_unit);
}

static void print_query(const struct card *cards, int n)
{
	int i, j, e;

	for (i = 0; i < n; i++) {
		const struct card *c = &cards[i];

		printf("Card %d (/dev/accel/accel%d)\n", c->index, c->index);
		printf("    %-22s: %s\n", "PCI address", c->pci);
		printf("    %-22s: %lld\n", "NUMA node", c->numa_node);
		printf("    %-22s: %s\n", "Serial", c->serial);
		printf("    %-22s: %s\n", "Hardware version", c->hw_version);
		printf("    %-22s: %s\n", "Health", c->health);
		print_field("Memory total", c->mem_total, 1, " bytes");
		print_field("Memory used", c->mem_used, 1, " bytes");
		print_field("Utilization", c->utilization, 1, " %");
		print_field("Busy time", c->busy_ns, 1, " ns");
		print_field("Temperature", c->hwmon[0] ? c->temp_mc : -1, 1000, " C");
		print_field("Temperature critical", c->temp_crit_mc, 1000, " C");
		print_field("Power", c->power_uw, 1e6, " W");
		print_field("Power limit", c->power_max_uw, 1e6, " W");
		print_field("Jobs submitted", c->jobs_submitted, 1, "");
		print_field("Jobs completed", c->jobs_completed, 1, "");
		print_field("Jobs failed", c->jobs_failed, 1, "");
		print_field("MMU faults", c->mmu_faults, 1, "");
		print_field("Resets", c->resets, 1, "");
		printf("    %-22s: %d\n", "Processes", c->nclients);
		for (j = 0; j < c->nclients; j++) {
			const struct client *cl = &c->clients[j];

			printf("        pid %d (%s) client %" PRIu64 ": memory %" PRIu64
			       " bytes, resident %" PRIu64 " bytes\n", cl->pid,
			       cl->name, cl->client_id, cl->memory_bytes,
			       cl->resident_bytes);
			for (e = 0; e < cl->engines; e++)
				printf("            engine %s: %" PRIu64 " ns\n",
				       cl->engine_name[e], cl->engine_ns[e]);
		}
	}
	if (other_users_hidden)
		printf("(processes of other users are hidden; run as root to see them)\n");
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mlu-smi [options]\n"
		"Show the MLU cards of this machine and the processes using them.\n\n"
		"  -q, --query          detailed report of every card\n"
		"  -j, --json           JSON output\n"
		"  -i, --id=INDEX       only card INDEX (/dev/accel/accelINDEX)\n"
		"  -l, --loop=SECONDS   print again every SECONDS until interrupted\n"
		"      --sysfs=DIR      sysfs mount point (default /sys)\n"
		"      --proc=DIR       procfs mount point (default /proc)\n"
		"  -h, --help           this text\n\n"
		"Exit status: 0 ok, 1 usage error, 2 mlu driver not loaded,\n"
		"3 no MLU card, 4 no permission to read the card's status.\n");
}

static void on_signal(int sig)
{
	stop = 1;
}

/* Explain why there is nothing to show; returns the exit code. */
static int no_cards(int err)
{
	int present;

	if (err == -EACCES || err == -EPERM) {
		fprintf(stderr, "mlu-smi: permission denied reading %s/class/accel (run as root)\n",
			sysfs_root);
		return EXIT_NO_PERMISSION;
	}
	present = count_pci_cards();
	if (!present) {
		fprintf(stderr, "mlu-smi: no MLU card found (no PCI device %s:%s)\n",
			MLU_PCI_VENDOR + 2, MLU_PCI_DEVICE + 2);
		return EXIT_NO_CARD;
	}
	if (!driver_loaded()) {
		fprintf(stderr, "mlu-smi: %d MLU card%s found, but the mlu driver is not loaded (modprobe mlu)\n",
			present, present == 1 ? "" : "s");
		return EXIT_NO_DRIVER;
	}
	fprintf(stderr, "mlu-smi: %d MLU card%s found, but none is bound to the mlu driver (see dmesg)\n",
		present, present == 1 ? "" : "s");
	return EXIT_NO_CARD;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "query", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "id", required_argument, NULL, 'i' },
		{ "loop", required_argument, NULL, 'l' },
		{ "sysfs", required_argument, NULL, 'S' },
		{ "proc", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	static struct card cards[MAX_CARDS];
	bool json = false, query = false;
	long loop = 0, only = -1;
	int opt, n, err;
	char *end;

	while ((opt = getopt_long(argc, argv, "qji:l:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			query = true;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			only = strtol(optarg, &end, 10);
			if (*end || only < 0) {
				fprintf(stderr, "mlu-smi: bad card index '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			loop = strtol(optarg, &end, 10);
			if (*end || loop < 1 || loop > 86400) {
				fprintf(stderr, "mlu-smi: bad interval '%s' (1..86400 seconds)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			sysfs_root = optarg;
			break;
		case 'P':
			proc_root = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mlu-smi: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	do {
		int i, shown = 0;

		err = 0;
		other_users_hidden = false;
		n = scan_cards(cards, &err);
		if (only >= 0) {
			for (i = 0; i < n; i++)
				if (cards[i].index == only)
					cards[shown++] = cards[i];
			if (n && !shown) {
				fprintf(stderr, "mlu-smi: no MLU card with index %ld\n", only);
				return EXIT_NO_CARD;
			}
			n = shown;
		}
		if (!n)
			return no_cards(err);
		if (err) {
			fprintf(stderr, "mlu-smi: permission denied reading the card's status (run as root)\n");
			return EXIT_NO_PERMISSION;
		}
		scan_processes(cards, n);
		if (json)
			print_json(cards, n);
		else if (query)
			print_query(cards, n);
		else
			print_table(cards, n);
		fflush(stdout);
		free_cards(cards, n);
		if (loop && !stop)
			sleep(loop);
	} while (loop && !stop);
	return EXIT_OK;
}
