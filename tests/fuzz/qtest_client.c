// SPDX-License-Identifier: MIT
/*
 * qtest protocol client (see qtest_client.h).
 *
 * QEMU connects to a Unix socket we listen on (`-qtest unix:PATH`); each
 * command is one line and gets one "OK ..." / "ERR ..." / "FAIL ..." line
 * back.  "IRQ ..." lines can arrive at any time and are skipped: this
 * client observes interrupts as MSI-X writes to guest memory instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qtest_client.h"

#define QTEST_CONNECT_TIMEOUT_MS	10000
#define QTEST_REPLY_TIMEOUT_MS		20000
#define QTEST_MAX_ARGS			64

struct QTestState {
	pid_t pid;
	int fd;
	int qmp_fd;
	bool dead;
	GString *rx;		/* bytes received, not yet consumed */
	GString *qmp_rx;
	GString *events;	/* QMP events seen so far */
	char dir[64];
	char path[96];
	char qmp_path[96];
};

static void qtest_mark_dead(QTestState *qt)
{
	qt->dead = true;
}

static int qtest_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static pid_t qtest_spawn(QTestState *qt, const char *qemu,
			 const char *const *args)
{
	const char *argv[QTEST_MAX_ARGS];
	char qtest_arg[128], qmp_arg[128];
	int n = 0, devnull;
	pid_t parent = getpid(), pid;

	snprintf(qtest_arg, sizeof(qtest_arg), "unix:%s", qt->path);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s", qt->qmp_path);
	argv[n++] = qemu;
	argv[n++] = "-machine";
	argv[n++] = "q35";
	argv[n++] = "-accel";
	argv[n++] = "qtest";
	argv[n++] = "-qtest";
	argv[n++] = qtest_arg;
	argv[n++] = "-qtest-log";
	argv[n++] = "/dev/null";
	argv[n++] = "-qmp";
	argv[n++] = qmp_arg;
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-nodefaults";
	argv[n++] = "-m";
	argv[n++] = "256M";
	argv[n++] = "-L";
	argv[n++] = "/usr/share/seabios";
	argv[n++] = "-L";
	argv[n++] = "/usr/share/qemu";
	while (*args && n < QTEST_MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;

	pid = fork();
	if (pid == 0) {
		/*
		 * QEMU must not outlive the test, even when the harness kills
		 * the test on a timeout before its teardown runs.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* QEMU's own messages go to our stderr; keep stdin away. */
		devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execv(qemu, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int qtest_accept(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd = -1;

	if (poll(&pfd, 1, QTEST_CONNECT_TIMEOUT_MS) == 1)
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	return fd;
}

QTestState *qtest_start(const char *qemu, const char *const *args)
{
	QTestState *qt = calloc(1, sizeof(*qt));
	int lfd, qmp_lfd;

	if (!qt)
		return NULL;
	qt->fd = -1;
	qt->qmp_fd = -1;
	qt->rx = g_string_new(NULL);
	qt->qmp_rx = g_string_new(NULL);
	qt->events = g_string_new(NULL);
	snprintf(qt->dir, sizeof(qt->dir), "/tmp/mlu-qtest-XXXXXX");
	if (!mkdtemp(qt->dir))
		goto fail;
	snprintf(qt->path, sizeof(qt->path), "%s/qtest", qt->dir);
	snprintf(qt->qmp_path, sizeof(qt->qmp_path), "%s/qmp", qt->dir);
	lfd = qtest_listen(qt->path);
	qmp_lfd = qtest_listen(qt->qmp_path);
	if (lfd < 0 || qmp_lfd < 0) {
		close(lfd);
		close(qmp_lfd);
		goto fail;
	}
	qt->pid = qtest_spawn(qt, qemu, args);
	if (qt->pid < 0) {
		close(lfd);
		close(qmp_lfd);
		goto fail;
	}
	qt->fd = qtest_accept(lfd);
	qt->qmp_fd = qtest_accept(qmp_lfd);
	if (qt->fd < 0 || qt->qmp_fd < 0)
		goto fail;
	/* Greeting, then leave capabilities negotiation mode. */
	if (!qtest_qmp(qt, "{\"execute\": \"qmp_capabilities\"}"))
		goto fail;
	return qt;
fail:
	qtest_quit(qt);
	return NULL;
}

void qtest_quit(QTestState *qt)
{
	int status;

	if (!qt)
		return;
	/* Stop QEMU before closing the socket it would report as lost. */
	if (qt->pid > 0) {
		kill(qt->pid, SIGTERM);
		waitpid(qt->pid, &status, 0);
	}
	if (qt->fd >= 0)
		close(qt->fd);
	if (qt->qmp_fd >= 0)
		close(qt->qmp_fd);
	unlink(qt->path);
	unlink(qt->qmp_path);
	rmdir(qt->dir);
	g_string_free(qt->rx, TRUE);
	g_string_free(qt->qmp_rx, TRUE);
	g_string_free(qt->events, TRUE);
	free(qt);
}

static bool qtest_send_fd(QTestState *qt, int fd, const char *line,
			  size_t len)
{
	while (len) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			qtest_mark_dead(qt);
			return false;
		}
		line += n;
		len -= n;
	}
	return true;
}

static bool qtest_send(QTestState *qt, const char *line, size_t len)
{
	return qtest_send_fd(qt, qt->fd, line, len);
}

/* Receive one line (without "\n") from @fd into @out. */
static bool qtest_recv_line_fd(QTestState *qt, int fd, GString *rx,
			       GString *out)
{
	for (;;) {
		char *nl = memchr(rx->str, '\n', rx->len);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char buf[65536];
		ssize_t n;

		if (nl) {
			size_t len = nl - rx->str;

			g_string_truncate(out, 0);
			g_string_append_len(out, rx->str, len);
			g_string_erase(rx, 0, len + 1);
			return true;
		}
		if (poll(&pfd, 1, QTEST_REPLY_TIMEOUT_MS) != 1) {
			qtest_mark_dead(qt);
			return false;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			qtest_mark_dead(qt);
			return false;
		}
		g_string_append_len(rx, buf, n);
	}
}

/* Receive one qtest reply line, skipping asynchronous IRQ lines. */
static bool qtest_recv_line(QTestState *qt, GString *out)
{
	do {
		if (!qtest_recv_line_fd(qt, qt->fd, qt->rx, out))
			return false;
	} while (!strncmp(out->str, "IRQ", 3));
	return true;
}

bool qtest_qmp(QTestState *qt, const char *json)
{
	g_autoptr(GString) line = g_string_new(json);
	g_autoptr(GString) in = g_string_new(NULL);

	g_string_append_c(line, '\n');
	if (qt->dead || !qtest_send_fd(qt, qt->qmp_fd, line->str, line->len))
		return false;
	for (;;) {
		if (!qtest_recv_line_fd(qt, qt->qmp_fd, qt->qmp_rx, in))
			return false;
		if (strstr(in->str, "\"event\"")) {
			g_string_append(qt->events, in->str);
			continue;
		}
		if (strstr(in->str, "\"QMP\""))
			continue;		/* the greeting */
		return !strncmp(in->str, "{\"return\"", 9);
	}
}

bool qtest_qmp_wait_event(QTestState *qt, const char *event)
{
	g_autoptr(GString) in = g_string_new(NULL);
	g_autofree char *quoted = g_strdup_printf("\"%s\"", event);

	while (!strstr(qt->events->str, quoted)) {
		if (!qtest_recv_line_fd(qt, qt->qmp_fd, qt->qmp_rx, in))
			return false;
		g_string_append(qt->events, in->str);
	}
	return true;
}

/* Send a command; on "OK", copy what follows it into @reply (if any). */
static bool qtest_cmd(QTestState *qt, GString *reply, const char *fmt, ...)
{
	g_autoptr(GString) line = g_string_new(NULL);
	g_autoptr(GString) in = g_string_new(NULL);
	va_list ap;

	if (qt->dead)
		return false;
	va_start(ap, fmt);
	g_string_vprintf(line, fmt, ap);
	va_end(ap);
	g_string_append_c(line, '\n');
	if (!qtest_send(qt, line->str, line->len) || !qtest_recv_line(qt, in))
		return false;
	if (strncmp(in->str, "OK", 2))
		return false;
	if (reply) {
		g_string_assign(reply, in->str + 2);
		g_strstrip(reply->str);
		reply->len = strlen(reply->str);
	}
	return true;
}

static uint64_t qtest_cmd_u64(QTestState *qt, uint64_t fail,
			      const char *op, uint64_t arg)
{
	g_autoptr(GString) reply = g_string_new(NULL);

	if (!qtest_cmd(qt, reply, "%s 0x%llx", op, (unsigned long long)arg))
		return fail;
	return strtoull(reply->str, NULL, 0);
}

pid_t qtest_pid(QTestState *qt)
{
	return qt->pid;
}

bool qtest_probe_child(QTestState *qt)
{
	int status;

	if (qt->dead || waitpid(qt->pid, &status, WNOHANG) != 0)
		return false;
	/* A round trip proves the main loop still answers. */
	return qtest_cmd(qt, NULL, "readl 0x0");
}

uint32_t qtest_readl(QTestState *qt, uint64_t addr)
{
	return qtest_cmd_u64(qt, UINT32_MAX, "readl", addr);
}

uint64_t qtest_readq(QTestState *qt, uint64_t addr)
{
	return qtest_cmd_u64(qt, UINT64_MAX, "readq", addr);
}

uint32_t qtest_inl(QTestState *qt, uint16_t port)
{
	return qtest_cmd_u64(qt, UINT32_MAX, "inl", port);
}

bool qtest_writel(QTestState *qt, uint64_t addr, uint32_t val)
{
	return qtest_cmd(qt, NULL, "writel 0x%llx 0x%x",
			 (unsigned long long)addr, val);
}

bool qtest_writeq(QTestState *qt, uint64_t addr, uint64_t val)
{
	return qtest_cmd(qt, NULL, "writeq 0x%llx 0x%llx",
			 (unsigned long long)addr, (unsigned long long)val);
}

bool qtest_outl(QTestState *qt, uint16_t port, uint32_t val)
{
	return qtest_cmd(qt, NULL, "outl 0x%x 0x%x", port, val);
}

bool qtest_memwrite(QTestState *qt, uint64_t addr, const void *buf,
		    size_t len)
{
	g_autofree char *b64 = NULL;

	if (!len)
		return true;
	b64 = g_base64_encode(buf, len);
	return qtest_cmd(qt, NULL, "b64write 0x%llx 0x%zx %s",
			 (unsigned long long)addr, len, b64);
}

bool qtest_memread(QTestState *qt, uint64_t addr, void *buf, size_t len)
{
	g_autoptr(GString) reply = g_string_new(NULL);
	g_autofree guchar *data = NULL;
	gsize out_len;

	if (!len)
		return true;
	if (!qtest_cmd(qt, reply, "b64read 0x%llx 0x%zx",
		       (unsigned long long)addr, len))
		return false;
	data = g_base64_decode(reply->str, &out_len);
	if (out_len != len)
		return false;
	memcpy(buf, data, len);
	return true;
}

bool qtest_memset(QTestState *qt, uint64_t addr, uint8_t val, size_t len)
{
	return qtest_cmd(qt, NULL, "memset 0x%llx 0x%zx 0x%x",
			 (unsigned long long)addr, len, val);
}

int64_t qtest_clock_step(QTestState *qt, int64_t ns)
{
	g_autoptr(GString) reply = g_string_new(NULL);

	if (!qtest_cmd(qt, reply, "clock_step %lld", (long long)ns))
		return -1;
	return strtoll(reply->str, NULL, 0);
}
