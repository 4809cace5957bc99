using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Ferry.Load;

/// <summary>
/// Loads the package's CentOS 8 librdkafka build: the default Linux build needs libsasl2.so.3, missing on
/// Debian 12, where .NET would otherwise fall back to a system librdkafka or none.
/// </summary>
internal static class Librdkafka
{
    public static void Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
        var handle = NativeLibrary.Load(path);
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly,
            (name, _, _) => name.Contains("librdkafka", StringComparison.Ordinal) ? handle : IntPtr.Zero);
        if (!Library.VersionString.StartsWith("2.16", StringComparison.Ordinal))
            throw new InvalidOperationException($"librdkafka {Library.VersionString} loaded; expected 2.16");
    }
}
