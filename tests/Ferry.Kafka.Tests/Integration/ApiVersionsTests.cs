using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>The versions current clients negotiate (Kafka 3.9's message schemas).</summary>
public sealed class ApiVersionsTests
{
    [Fact]
    public async Task ApiVersions_V4_IsAnswered_WithFetchByTopicIdAndListOffsetsMaxTimestamp()
    {
        await using var server = await FerryServer.StartAsync();
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var response = await client.SendAsync<ApiVersionsResponse>(ApiKeys.ApiVersions, 4,
            new ApiVersionsRequest { ClientSoftwareName = "raw-test", ClientSoftwareVersion = "1" });
        Assert.Equal(ErrorCodes.None, response.ErrorCode);
        var max = response.ApiKeys.ToDictionary(k => k.ApiKey, k => k.MaxVersion);
        Assert.Equal(4, max[ApiKeys.ApiVersions]);
        Assert.Equal(17, max[ApiKeys.Fetch]);
        Assert.Equal(10, max[ApiKeys.ListOffsets]);
    }
}
