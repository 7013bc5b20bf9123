#define _GNU_SOURCE
#include "CSkiffSys.h"
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Only async-signal-safe calls after fork: the parent is multithreaded. */
pid_t skiff_spawn(const char *path, char *const argv[], char *const envp[],
                  int stdin_fd, int stdout_fd, int stderr_fd,
                  const char *hide_mount, int *pidfd) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
        for (int i = 0; i < 3; i++) {
            if (fds[i] < 0) fds[i] = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
            /* Move out of 0..2 first so one dup2 cannot clobber another's source. */
            if (fds[i] >= 0 && fds[i] < 3) fds[i] = fcntl(fds[i], F_DUPFD, 3);
        }
        for (int i = 0; i < 3; i++) {
            if (fds[i] < 0 || dup2(fds[i], i) < 0) goto fail;
        }
        if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
            for (int fd = 3; fd < 4096; fd++) close(fd);
        }
        if (hide_mount) {
            if (unshare(CLONE_NEWNS) != 0) goto fail;
            if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) goto fail;
            if (umount2(hide_mount, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) goto fail;
        }
        execve(path, argv, envp);
    fail:
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) return -saved;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -e;
    }
    *pidfd = fd;
    return pid;
}

int skiff_pin_namespaces(int flags, const char *hostname,
                         const char *net_path, const char *ipc_path, const char *uts_path) {
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        if (unshare(flags) != 0) _exit(1);
        if ((flags & CLONE_NEWUTS) && hostname && sethostname(hostname, strlen(hostname)) != 0) _exit(2);
        if (net_path && mount("/proc/self/ns/net", net_path, NULL, MS_BIND, NULL) != 0) _exit(3);
        if (ipc_path && mount("/proc/self/ns/ipc", ipc_path, NULL, MS_BIND, NULL) != 0) _exit(4);
        if (uts_path && mount("/proc/self/ns/uts", uts_path, NULL, MS_BIND, NULL) != 0) _exit(5);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    return -EPERM;
}

int skiff_reap(int pidfd, pid_t pid) {
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) { int e = errno; close(pidfd); return -e; }
    }
    close(pidfd);
    return status;
}

int skiff_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

int skiff_pidfd_open(pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int skiff_try_reap(pid_t pid) {
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r == 0) return -EAGAIN;
        if (errno != EINTR) return -errno;
    }
}

int skiff_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int skiff_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

long skiff_fs_type(const char *path) {
    struct statfs fs;
    return statfs(path, &fs) == 0 ? (long)fs.f_type : -errno;
}

int skiff_console_listen(const char *path) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int skiff_console_receive(int listen_fd, int pidfd, int timeout_ms) {
    struct pollfd fds[2] = { { .fd = listen_fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
    int n;
    do { n = poll(fds, 2, timeout_ms); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n == 0) return -ETIMEDOUT;
    if (!(fds[0].revents & POLLIN)) return -ECHILD;
    int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) return -errno;
    char byte;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
    ssize_t got;
    do { got = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC); } while (got < 0 && errno == EINTR);
    int e = errno;
    close(conn);
    if (got < 0) return -e;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) return -EPROTO;
    int master;
    memcpy(&master, CMSG_DATA(cmsg), sizeof(int));
    return master;
}

int skiff_set_winsize(int fd, unsigned short columns, unsigned short rows) {
    struct winsize size = { .ws_row = rows, .ws_col = columns };
    return ioctl(fd, TIOCSWINSZ, &size) < 0 ? -errno : 0;
}

struct netns_connect {
    const char *path;
    unsigned short port;
    int result;
};

static void *connect_in_netns_thread(void *arg) {
    struct netns_connect *c = arg;
    if (c->path) {
        int ns = open(c->path, O_RDONLY | O_CLOEXEC);
        if (ns < 0) { c->result = -errno; return NULL; }
        // Only this thread moves; it ends right after, so nothing else runs in there.
        if (setns(ns, CLONE_NEWNET) < 0) { c->result = -errno; close(ns); return NULL; }
        close(ns);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { c->result = -errno; return NULL; }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(c->port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc;
    do { rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr)); } while (rc < 0 && errno == EINTR);
    if (rc < 0) { c->result = -errno; close(fd); return NULL; }
    c->result = fd;
    return NULL;
}

int skiff_connect_in_netns(const char *netns_path, unsigned short port) {
    struct netns_connect c = { .path = netns_path, .port = port, .result = -EINVAL };
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, connect_in_netns_thread, &c);
    if (rc != 0) return -rc;
    pthread_join(thread, NULL);
    return c.result;
}
