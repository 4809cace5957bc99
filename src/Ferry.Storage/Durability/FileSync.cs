using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Storage.Durability;

/// <summary>
/// Durable writes below .NET's reach. fdatasync on Linux: it writes the data and the metadata needed to read it back (the file size), but not
/// timestamps, saving a journal commit per call that fsync (what RandomAccess.FlushToDisk does) would pay.
/// </summary>
public static partial class FileSync
{
    // "libc" binds in the process's global scope (what a C program's calls see), not inside libc.so.6 alone: an
    // interposer loaded ahead of libc (the power-cut tests' fault layer, sanitizers) then sees Ferry's syncs too.
    static FileSync() => NativeLibrary.SetDllImportResolver(typeof(FileSync).Assembly, (name, _, _) =>
        name == "libc" && OperatingSystem.IsLinux() ? NativeLibrary.GetMainProgramHandle() : IntPtr.Zero);

    public static void DataSync(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(file);
            return;
        }
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            if (Fdatasync((int)file.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    /// <summary>
    /// fsync on a directory makes the names in it durable: a new segment or a renamed metadata file survives
    /// a power cut only once its directory is synced (POSIX). .NET will not open a directory as a file, so
    /// this goes to libc.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Creates <paramref name="directory"/> and any missing ancestors durably: each new directory's name is in
    /// its parent's entries, which a power cut keeps only once the parent is fsync'd. Without that, a partition or
    /// queue acknowledged into a directory created moments before could vanish whole with it.
    /// </summary>
    public static void CreateDirectory(string directory)
    {
        string full = Path.GetFullPath(directory);
        if (Directory.Exists(full)) return;
        string? parent = Path.GetDirectoryName(full);
        if (parent is not null) CreateDirectory(parent);
        Directory.CreateDirectory(full);
        if (parent is not null) SyncDirectory(parent);
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
