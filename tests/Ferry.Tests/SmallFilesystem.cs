using System.Diagnostics;

namespace Ferry.Tests;

/// <summary>
/// A small filesystem of its own (tmpfs with size=, mounted for the test; the tests run as root in CI) that a test
/// can fill to the brim and give back: <see cref="Fill"/> leaves only a few bytes free with a filler file,
/// <see cref="Release"/> deletes it. Where mounting is not allowed the test is skipped, saying why.
/// </summary>
internal sealed class SmallFilesystem : IDisposable
{
    private SmallFilesystem(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    public static SmallFilesystem Mount(long bytes)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ferry-smallfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Assert.Skip($"cannot mount a {bytes}-byte tmpfs for the disk-full test (needs root or CAP_SYS_ADMIN): {output.Trim()}");
        }
        return new SmallFilesystem(path);
    }

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Writes a filler file until about <paramref name="leaveFree"/> bytes are left.</summary>
    public void Fill(long leaveFree)
    {
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write);
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)0x5A);
        try
        {
            while (FreeBytes > leaveFree)
            {
                file.Write(chunk, 0, (int)Math.Min(chunk.Length, FreeBytes - leaveFree));
                file.Flush();
            }
        }
        catch (IOException)
        {
            // Full already.
        }
    }

    public void Release() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in args) info.ArgumentList.Add(arg);
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
