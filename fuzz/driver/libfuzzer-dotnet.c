// libFuzzer driver for SharpFuzz's Fuzzer.LibFuzzer.Run, written for Ferry from the protocol that SharpFuzz's
// managed side documents (Fuzzer.LibFuzzer.cs): no packaged libfuzzer-dotnet exists in Debian.
//
//   clang -O2 -fsanitize=fuzzer libfuzzer-dotnet.c -o libfuzzer-dotnet
//   ./libfuzzer-dotnet --target_path=PROGRAM [--target_arg=ARG]... [libFuzzer flags] CORPUS_DIR
//   (e.g. --target_path=/usr/bin/dotnet --target_arg=Ferry.Fuzz.dll --target_arg=kafka-request)
//
// The protocol, as the managed side implements it:
// - environment: __LIBFUZZER_SHM_ID (a System V shared memory id), __LIBFUZZER_CONTROL_PIPE_ID and
//   __LIBFUZZER_STATUS_PIPE_ID (file descriptor numbers the child inherits);
// - shared memory: MAP_SIZE bytes of AFL-style edge counters that the instrumented assemblies bump, then the
//   current input (at most DATA_SIZE bytes);
// - the child writes an int32 0 on the status pipe once it is ready; then, per input, the driver writes the
//   input's length (int32) on the control pipe and the child answers an int32 status (0 ok, 2 crash: an
//   exception escaped the target; the child exits after a crash).
// The edge counters are copied into libFuzzer's extra counters after each run, which is how libFuzzer sees
// the managed code's coverage. Flags starting with "--" are ignored by libFuzzer itself.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAP_SIZE (1 << 16)
#define DATA_SIZE (1 << 20)

// "used": nothing in this file reads the counters (libFuzzer does, through the section), so without it the
// compiler drops the array and the stores into it.
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t extra_counters[MAP_SIZE];

static uint8_t *shared;
static int control_fd = -1;
static int status_fd = -1;
static pid_t child = -1;

static void die(const char *what)
{
    fprintf(stderr, "libfuzzer-dotnet: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int write_all(int fd, const void *buffer, size_t length)
{
    const uint8_t *p = buffer;
    while (length > 0)
    {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buffer, size_t length)
{
    uint8_t *p = buffer;
    while (length > 0)
    {
        ssize_t n = read(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

static void remove_shared(void)
{
    if (child > 0) kill(child, SIGKILL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *target_path = NULL;
    // The child's argv: the program, every --target_arg in order, and the terminating null.
    char **child_argv = calloc((size_t)*argc + 2, sizeof(char *));
    if (child_argv == NULL) die("calloc");
    int child_argc = 1;
    for (int i = 1; i < *argc; i++)
    {
        char *arg = (*argv)[i];
        if (strncmp(arg, "--target_path=", 14) == 0) target_path = arg + 14;
        else if (strncmp(arg, "--target_arg=", 13) == 0) child_argv[child_argc++] = arg + 13;
    }
    if (target_path == NULL)
    {
        fprintf(stderr, "usage: libfuzzer-dotnet --target_path=PROGRAM [--target_arg=ARG]... [libFuzzer flags] [CORPUS...]\n");
        exit(1);
    }

    int shm_id = shmget(IPC_PRIVATE, MAP_SIZE + DATA_SIZE, IPC_CREAT | IPC_EXCL | 0600);
    if (shm_id < 0) die("shmget");
    shared = shmat(shm_id, NULL, 0);
    if (shared == (void *)-1) die("shmat");
    // Marked for removal now: the segment lives until both processes detach, even if this one is killed.
    shmctl(shm_id, IPC_RMID, NULL);

    int control[2], status[2];
    if (pipe(control) != 0 || pipe(status) != 0) die("pipe");

    child = fork();
    if (child < 0) die("fork");
    if (child == 0)
    {
        char value[32];
        snprintf(value, sizeof value, "%d", shm_id);
        setenv("__LIBFUZZER_SHM_ID", value, 1);
        snprintf(value, sizeof value, "%d", control[0]);
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", value, 1);
        snprintf(value, sizeof value, "%d", status[1]);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", value, 1);
        close(control[1]);
        close(status[0]);
        child_argv[0] = (char *)target_path;
        execv(target_path, child_argv);
        die("exec");
    }
    close(control[0]);
    close(status[1]);
    control_fd = control[1];
    status_fd = status[0];
    atexit(remove_shared);

    int32_t ready;
    if (read_all(status_fd, &ready, sizeof ready) != 0)
    {
        fprintf(stderr, "libfuzzer-dotnet: the target exited before it was ready\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > DATA_SIZE) size = DATA_SIZE;
    memset(shared, 0, MAP_SIZE);
    memcpy(shared + MAP_SIZE, data, size);
    int32_t length = (int32_t)size;
    int32_t status;
    if (write_all(control_fd, &length, sizeof length) != 0 || read_all(status_fd, &status, sizeof status) != 0)
    {
        // The managed process died (stack overflow, out of memory, a fail-fast): that is a crash too.
        fprintf(stderr, "libfuzzer-dotnet: the target process died\n");
        waitpid(child, NULL, 0);
        child = -1;
        abort();
    }
    memcpy(extra_counters, shared, MAP_SIZE);
    if (status != 0)
    {
        // The target printed the exception on stderr; abort so libFuzzer writes the input as crash-<sha1>.
        waitpid(child, NULL, 0);
        child = -1;
        abort();
    }
    return 0;
}
