using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Loads the librdkafka that ships with Confluent.Kafka before first use. The package's default Linux build
/// needs libsasl2.so.3, which Debian 12 lacks; .NET would then quietly fall back to a system librdkafka
/// (Debian's 2.0.2, installed with kcat) or none. The CentOS 8 build has no such dependency.
/// </summary>
internal static class Librdkafka
{
    private static readonly Lock Gate = new();
    private static bool _loaded;

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            var path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
            if (!File.Exists(path)) throw new FileNotFoundException("The package's librdkafka build is missing.", path);
            var handle = NativeLibrary.Load(path);
            NativeLibrary.SetDllImportResolver(typeof(Library).Assembly,
                (name, _, _) => name.Contains("librdkafka", StringComparison.Ordinal) ? handle : IntPtr.Zero);
            if (!Library.VersionString.StartsWith("2.16", StringComparison.Ordinal))
                throw new InvalidOperationException($"Loaded librdkafka {Library.VersionString}, expected the package's 2.16.");
            _loaded = true;
        }
    }
}
