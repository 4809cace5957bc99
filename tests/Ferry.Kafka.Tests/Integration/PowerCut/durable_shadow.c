// A storage fault layer for power-cut tests, loaded into ferry with LD_PRELOAD.
//
// It keeps a shadow copy of what the disk would hold after a power cut. At each fsync/fdatasync of a regular file
// under FERRY_POWERCUT_DIR it copies the file's content; at each fsync of a directory there it records the
// directory's entries (name -> file). Nothing else is durable: bytes written since a file's last sync, truncations,
// and names created, renamed or unlinked since their directory's last sync. After the test SIGKILLs ferry it rebuilds
// the data directory from the shadow (PowerCut.cs): the state a power cut at that moment would leave.
//
// The copy is taken BEFORE the real sync and kept only if the sync succeeds: every byte in it was written before
// the sync began, so the sync covers it. A copy taken after the sync could hold bytes written while the sync ran,
// and hide the very bug the test looks for (an acknowledgement given for bytes no sync covered). Two threads
// syncing one file: the copy taken last wins, whichever sync returns first.
//
// A file is keyed by inode number and birth time (statx), so that a new file reusing a deleted file's inode does
// not lend its content to the old name while a directory record still lists it.
//
// At start, when the shadow is empty (a fresh directory, or one just rebuilt from the shadow), what is on disk is
// taken as durable: every file and directory under FERRY_POWERCUT_DIR is recorded before ferry runs.
//
// fsync and fdatasync are the calls to interpose: .NET's FileStream.Flush(true) and RandomAccess.FlushToDisk call
// fsync (System.Native's SystemNative_FSync), Ferry's segment syncs call fdatasync, and Ferry opens no file with
// O_SYNC/O_DSYNC and maps none, so no write is durable by any other path.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static char watched[PATH_MAX];
static char shadow[PATH_MAX - 128]; // room for the record names below it
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

// The copy last committed for each key, by the sequence number of the moment it was taken.
#define SLOTS 8192
static struct { char key[64]; unsigned long sequence; } committed[SLOTS];
static unsigned long next_sequence;

// A pending record: written to its temporary name, renamed over the final one if the sync succeeds.
struct pending { char tmp[PATH_MAX], final[PATH_MAX], key[64]; unsigned long sequence; int ready; };

static int file_key(int dirfd, const char *path, int flags, char *key, size_t size, int *is_dir)
{
    struct statx sx;
    if (statx(dirfd, path, flags | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_TYPE | STATX_BTIME, &sx) != 0) return -1;
    if (!S_ISREG(sx.stx_mode) && !S_ISDIR(sx.stx_mode)) return -1;
    *is_dir = S_ISDIR(sx.stx_mode);
    if (sx.stx_mask & STATX_BTIME)
        snprintf(key, size, "%llu-%lld.%u", (unsigned long long)sx.stx_ino, (long long)sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec);
    else
        snprintf(key, size, "%llu", (unsigned long long)sx.stx_ino);
    return 0;
}

static void begin(struct pending *p, const char *kind, const char *key)
{
    snprintf(p->key, sizeof p->key, "%s", key);
    snprintf(p->final, sizeof p->final, "%s/%s/%s", shadow, kind, key);
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp%ld", p->final, (long)syscall(SYS_gettid));
    pthread_mutex_lock(&lock);
    p->sequence = ++next_sequence;
    pthread_mutex_unlock(&lock);
}

// Reads through a descriptor of its own: the one being synced may be open for writing only.
static int copy_file(const char *link, struct pending *p)
{
    int in = open(link, O_RDONLY);
    if (in < 0) return -1;
    int out = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) { close(in); return -1; }
    char buffer[1 << 16];
    off_t position = 0;
    ssize_t n;
    while ((n = pread(in, buffer, sizeof buffer, position)) > 0)
    {
        if (write(out, buffer, (size_t)n) != n) { close(in); close(out); unlink(p->tmp); return -1; }
        position += n;
    }
    close(in);
    close(out);
    return n < 0 ? (unlink(p->tmp), -1) : 0;
}

static int list_directory(const char *path, struct pending *p)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    FILE *out = fopen(p->tmp, "w");
    if (!out) { closedir(d); return -1; }
    struct dirent *e;
    char key[64];
    int is_dir;
    while ((e = readdir(d)) != NULL)
    {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (file_key(dirfd(d), e->d_name, 0, key, sizeof key, &is_dir) != 0) continue;
        fprintf(out, "%c %s %s\n", is_dir ? 'd' : 'f', key, e->d_name);
    }
    closedir(d);
    fclose(out);
    return 0;
}

// Commits a record whose sync succeeded, unless a copy taken later has been committed already.
static void commit(struct pending *p)
{
    pthread_mutex_lock(&lock);
    unsigned long h = 5381;
    for (const char *c = p->key; *c; c++) h = h * 33 + (unsigned char)*c;
    int slot = -1;
    for (unsigned long i = 0; i < SLOTS; i++)
    {
        int s = (int)((h + i) % SLOTS);
        if (committed[s].key[0] == 0 || !strcmp(committed[s].key, p->key)) { slot = s; break; }
    }
    if (slot >= 0 && committed[slot].key[0] && committed[slot].sequence > p->sequence) unlink(p->tmp);
    else if (rename(p->tmp, p->final) != 0) unlink(p->tmp);
    else if (slot >= 0)
    {
        snprintf(committed[slot].key, sizeof committed[slot].key, "%s", p->key);
        committed[slot].sequence = p->sequence;
    }
    pthread_mutex_unlock(&lock);
}

// Takes the record of fd's file or directory if it lies under the watched directory; p->ready says whether it did.
static void prepare(int fd, struct pending *p)
{
    p->ready = 0;
    if (!watched[0]) return;
    char link[64], path[PATH_MAX], key[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    size_t len = strlen(watched);
    if (strncmp(path, watched, len) != 0 || (path[len] != 0 && path[len] != '/')) return;
    int is_dir;
    if (file_key(fd, "", AT_EMPTY_PATH, key, sizeof key, &is_dir) != 0) return;
    begin(p, is_dir ? "dirs" : "data", key);
    p->ready = (is_dir ? list_directory(path, p) : copy_file(link, p)) == 0;
}

static int synced(int (*sync)(int), int fd)
{
    int saved = errno;
    struct pending p;
    prepare(fd, &p);
    errno = saved;
    int result = sync(fd);
    saved = errno;
    if (p.ready)
    {
        if (result == 0) commit(&p);
        else unlink(p.tmp);
    }
    errno = saved;
    return result;
}

int fsync(int fd) { return synced(real_fsync, fd); }

int fdatasync(int fd) { return synced(real_fdatasync, fd); }

static int seed_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)ftw;
    if (type != FTW_D && type != FTW_F) return 0;
    int fd = open(path, O_RDONLY | (type == FTW_D ? O_DIRECTORY : 0));
    if (fd < 0) return 0;
    struct pending p;
    prepare(fd, &p);
    if (p.ready) commit(&p);
    close(fd);
    return 0;
}

__attribute__((constructor)) static void init(void)
{
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    const char *dir = getenv("FERRY_POWERCUT_DIR"), *sh = getenv("FERRY_POWERCUT_SHADOW");
    if (!dir || !sh || !realpath(dir, watched)) { watched[0] = 0; return; }
    snprintf(shadow, sizeof shadow, "%s", sh);
    char path[PATH_MAX], key[64];
    snprintf(path, sizeof path, "%s/data", shadow); mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/dirs", shadow); mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/root", shadow);
    int is_dir;
    if (access(path, F_OK) != 0 && file_key(AT_FDCWD, watched, 0, key, sizeof key, &is_dir) == 0)
    {
        nftw(watched, seed_one, 16, FTW_PHYS);
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (f) { fprintf(f, "%s\n", key); fclose(f); rename(tmp, path); }
    }
}
