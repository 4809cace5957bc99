using System.Text;
using Ferry.Admin;

namespace Ferry.Tests;

public sealed class KafkaPartitionerTests
{
    /// <summary>The vectors of Kafka's own UtilsTest.testMurmur2: keys land where a Kafka producer puts them.</summary>
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_MatchesKafka(string key, int expected) =>
        Assert.Equal(expected, KafkaPartitioner.Murmur2(Encoding.ASCII.GetBytes(key)));
}
