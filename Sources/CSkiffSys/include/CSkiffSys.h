#ifndef CSKIFFSYS_H
#define CSKIFFSYS_H
#include <sys/types.h>

/// Starts `path` with `argv` and `envp`, its stdin/stdout/stderr on the given descriptors
/// (-1: /dev/null) and every other descriptor closed. When `hide_mount` is set the child
/// first enters a private mount namespace and detaches that mount (crun refuses hybrid
/// cgroups; hiding the cgroup2 mount from it changes nothing on the host). Returns the
/// pid and stores a pidfd in `*pidfd`, or -errno; a child that cannot exec exits 127.
pid_t skiff_spawn(const char *path, char *const argv[], char *const envp[],
                  int stdin_fd, int stdout_fd, int stderr_fd,
                  const char *hide_mount, int *pidfd);

/// Creates new namespaces (`flags`: CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) and pins
/// each by bind-mounting it on an existing empty file (NULL: not that one), as CRI-O's
/// pinns does, so a pod's namespaces live without a pause process. Sets the hostname of a
/// new UTS namespace. Returns 0 or -errno.
int skiff_pin_namespaces(int flags, const char *hostname,
                         const char *net_path, const char *ipc_path, const char *uts_path);

/// Waits for the process behind `pidfd` (which must have exited or be about to) and
/// returns its wait status as waitpid gives it, or -errno.
int skiff_reap(int pidfd, pid_t pid);

/// Makes this process the subreaper of its descendants, so that a container's init,
/// reparented when the runtime exits, is ours to wait for. Returns 0 or -errno.
int skiff_become_subreaper(void);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits. -errno on failure.
int skiff_pidfd_open(pid_t pid);

/// Collects the exit of `pid` if it has exited and is our child: returns its wait status,
/// -ECHILD when it is not our child (the exit code is then unknowable), -EAGAIN if it runs.
int skiff_try_reap(pid_t pid);

/// pipe2(fds, O_CLOEXEC) and eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK), which Glibc's Swift
/// module hides behind _GNU_SOURCE. Return 0 / a descriptor, or -errno.
int skiff_pipe_cloexec(int fds[2]);
int skiff_eventfd(void);

/// statfs(2)'s f_type of the filesystem holding `path` (cgroup2, tmpfs, ...), or -errno.
long skiff_fs_type(const char *path);

/// A Unix socket listening at `path` for an OCI runtime's --console-socket. Returns the
/// descriptor or -errno.
int skiff_console_listen(const char *path);

/// Accepts the runtime's connection on `listen_fd` and receives the terminal master it
/// sends (SCM_RIGHTS). Gives up after `timeout_ms`, or with -ECHILD as soon as `pidfd`
/// (the runtime) exits first. Returns the master descriptor or -errno.
int skiff_console_receive(int listen_fd, int pidfd, int timeout_ms);

/// TIOCSWINSZ: sets a terminal's size. Returns 0 or -errno.
int skiff_set_winsize(int fd, unsigned short columns, unsigned short rows);

/// A TCP connection to 127.0.0.1:`port` inside the network namespace pinned at
/// `netns_path` (NULL: this one), as CRI runtimes do for port-forward. The socket is made
/// in a thread that enters the namespace, so the caller's namespace never changes.
/// Returns the connected descriptor or -errno.
int skiff_connect_in_netns(const char *netns_path, unsigned short port);

#endif
