using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Load.Limits;

/// <summary>
/// The data disk's own limits, measured with the same kind of writes a broker makes: sequential 1 MiB
/// writes into the page cache (and the same with one fdatasync at the end: what the device sustains);
/// 64 KiB writes each followed by fdatasync; 4 KiB appends each followed by fdatasync (the rate a broker
/// that syncs every message alone could answer).
/// </summary>
internal static partial class DiskLimits
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    public static int Run(string[] args)
    {
        string dir = Arg(args, "--dir") ?? Path.GetTempPath();
        long totalBytes = long.Parse(Arg(args, "--mib") ?? "1024", System.Globalization.CultureInfo.InvariantCulture) << 20;
        double seconds = double.Parse(Arg(args, "--seconds") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "disk-limits.tmp");
        try
        {
            var (buffered, synced) = Sequential(path, 1 << 20, totalBytes);
            Print("disk sequential write, buffered", buffered / 1e6, "MB/s");
            Print("disk sequential write, buffered then one fdatasync", synced / 1e6, "MB/s");
            var (bytes64, ops64) = SyncEach(path, 64 << 10, seconds);
            Print("disk sequential write, fdatasync every 64 KiB", bytes64 / 1e6, "MB/s");
            var (_, ops4) = SyncEach(path, 4 << 10, seconds);
            Print("disk 4 KiB append, fdatasync each", ops4, "op/s");
            _ = ops64;
        }
        finally
        {
            File.Delete(path);
        }
        return 0;
    }

    private static (double Buffered, double Synced) Sequential(string path, int chunk, long totalBytes)
    {
        File.Delete(path);
        var buffer = new byte[chunk];
        Random.Shared.NextBytes(buffer);
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        var sw = Stopwatch.StartNew();
        long offset = 0;
        for (; offset < totalBytes; offset += chunk) RandomAccess.Write(handle, buffer, offset);
        double buffered = offset / sw.Elapsed.TotalSeconds;
        Sync(handle);
        double synced = offset / sw.Elapsed.TotalSeconds;
        return (buffered, synced);
    }

    private static (double BytesPerSecond, double OpsPerSecond) SyncEach(string path, int chunk, double seconds)
    {
        File.Delete(path);
        var buffer = new byte[chunk];
        Random.Shared.NextBytes(buffer);
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        var sw = Stopwatch.StartNew();
        long offset = 0, ops = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            RandomAccess.Write(handle, buffer, offset);
            Sync(handle);
            offset += chunk;
            ops++;
        }
        double elapsed = sw.Elapsed.TotalSeconds;
        return (offset / elapsed, ops / elapsed);
    }

    private static void Sync(SafeFileHandle handle)
    {
        if (fdatasync((int)handle.DangerousGetHandle()) != 0)
            throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private static void Print(string name, double value, string unit) =>
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["kind"] = "limit", ["name"] = name, ["value"] = Math.Round(value, 1), ["unit"] = unit }));

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
