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
