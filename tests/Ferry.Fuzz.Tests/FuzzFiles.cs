namespace Ferry.Fuzz.Tests;

/// <summary>The committed inputs: fuzz/corpus/TARGET (seeds and what the fuzzer kept) and fuzz/crashes/TARGET (regressions).</summary>
internal static class FuzzFiles
{
    public static string FuzzRoot { get; } = FindFuzzRoot();

    public static IEnumerable<string> Of(string folder, string target)
    {
        string path = Path.Combine(FuzzRoot, folder, target);
        return Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : [];
    }

    private static string FindFuzzRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ferry.slnx"))) return Path.Combine(dir.FullName, "fuzz");
        }
        throw new DirectoryNotFoundException("No Ferry.slnx above " + AppContext.BaseDirectory);
    }
}
