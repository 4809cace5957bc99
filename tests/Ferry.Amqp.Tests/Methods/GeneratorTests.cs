using Ferry.AmqpCodecGen;

namespace Ferry.Amqp.Tests.Methods;

public sealed class GeneratorTests
{
    private const string SpecRelativePath = "shared/protocol-specs/amqp-0-9-1/amqp-rabbitmq-0.9.1.json";
    private const string GeneratedRelativePath = "src/Ferry.Amqp/Methods/Generated";

    [Fact]
    public void Generate_FromSpec_MatchesCommittedFiles()
    {
        string? spec = FindUpwards(SpecRelativePath, File.Exists);
        string? committed = FindUpwards(GeneratedRelativePath, Directory.Exists);
        if (spec is null || committed is null)
        {
            // The spec lives outside the repository (../shared); without it there is nothing to compare.
            return;
        }

        string temp = Path.Combine(Path.GetTempPath(), "ferry-amqp-codegen-" + Guid.NewGuid().ToString("N"));
        try
        {
            IReadOnlyList<string> generated = AmqpCodecGenerator.Generate(spec, temp);

            string[] committedFiles = [.. Directory.EnumerateFiles(committed, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
            Assert.Equal(committedFiles, generated.Order(StringComparer.Ordinal));
            foreach (string name in generated)
            {
                byte[] expected = File.ReadAllBytes(Path.Combine(committed, name));
                byte[] actual = File.ReadAllBytes(Path.Combine(temp, name));
                Assert.True(
                    expected.AsSpan().SequenceEqual(actual),
                    $"{name} differs from the generator's output; run `dotnet run --project tools/Ferry.AmqpCodecGen`.");
            }
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static string? FindUpwards(string relativePath, Func<string, bool> exists)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relativePath);
            if (exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
