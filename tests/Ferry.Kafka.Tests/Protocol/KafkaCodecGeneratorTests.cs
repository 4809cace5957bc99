using Ferry.KafkaCodecGen;

namespace Ferry.Kafka.Tests.Protocol;

/// <summary>The committed codecs are exactly what the generator makes of the schemas.</summary>
public sealed class KafkaCodecGeneratorTests
{
    [Fact]
    public void Generate_FromSchemas_MatchesCommittedFiles()
    {
        string? specDir = FindSpecDirectory();
        if (specDir is null)
        {
            Assert.Skip("../shared/protocol-specs/kafka-messages is not present; nothing to compare against.");
        }
        string root = KafkaCodecGenerator.FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Ferry.slnx not found above the test directory.");
        string committedDir = Path.Combine(root, "src", "Ferry.Kafka", "Protocol", "Generated");
        string tempDir = Path.Combine(Path.GetTempPath(), "ferry-codecgen-" + Guid.NewGuid().ToString("N"));
        try
        {
            KafkaCodecGenerator.Generate(specDir, tempDir);

            string[] generated = Names(tempDir);
            Assert.Equal(generated, Names(committedDir));
            foreach (string name in generated)
            {
                byte[] expected = File.ReadAllBytes(Path.Combine(tempDir, name));
                byte[] actual = File.ReadAllBytes(Path.Combine(committedDir, name));
                Assert.True(
                    expected.AsSpan().SequenceEqual(actual),
                    $"{name} differs from the generator's output; run: dotnet run --project tools/Ferry.KafkaCodecGen");
            }
        }
        finally
        {
            if (Directory.Exists(tempDir))
            {
                Directory.Delete(tempDir, recursive: true);
            }
        }
    }

    [Fact]
    public void Apis_AreListedOnce()
    {
        Assert.Equal(KafkaCodecGenerator.Apis.Count, KafkaCodecGenerator.Apis.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(43, KafkaCodecGenerator.Apis.Count);
    }

    private static string[] Names(string dir) =>
        [.. Directory.GetFiles(dir, "*.cs").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    /// <summary>The schemas live next to the repository: <c>../shared/protocol-specs/kafka-messages</c>.</summary>
    private static string? FindSpecDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "protocol-specs", "kafka-messages");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
