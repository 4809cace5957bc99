using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Broker.Cluster;
using Ferry.Kafka.Protocol.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// AlterPartitionReassignments and ListPartitionReassignments on a single node (the moves themselves are tested on a
/// cluster): the one broker is the only place a replica can go, so moving there is done at once, anything else is
/// INVALID_REPLICA_ASSIGNMENT, a cancel NO_REASSIGNMENT_IN_PROGRESS, an unknown partition UNKNOWN_TOPIC_OR_PARTITION,
/// and nothing is ever listed as moving.
/// </summary>
public sealed class ReassignmentRequestTests
{
    public ReassignmentRequestTests() => Librdkafka.EnsureLoaded();

    [Fact]
    public async Task OnASingleNode_EveryReassignmentIsAnsweredWithKafkasErrors()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = server.BootstrapServers }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "placed", NumPartitions = 1, ReplicationFactor = 1 }]);
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);

        async Task<short> ReassignAsync(string topic, int partition, List<int>? replicas)
        {
            var response = await client.SendAsync<AlterPartitionReassignmentsResponse>(ApiKeys.AlterPartitionReassignments, 0,
                new AlterPartitionReassignmentsRequest
                {
                    Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, Replicas = replicas }] }],
                });
            Assert.Equal(ErrorCodes.None, response.ErrorCode);
            return response.Responses.Single().Partitions.Single().ErrorCode;
        }

        int self = server.Services.GetRequiredService<IClusterView>().LocalNodeId;
        Assert.Equal(ErrorCodes.None, await ReassignAsync("placed", 0, [self]));
        Assert.Equal(ErrorCodes.InvalidReplicaAssignment, await ReassignAsync("placed", 0, [self + 1]));
        Assert.Equal(ErrorCodes.InvalidReplicaAssignment, await ReassignAsync("placed", 0, [self, self + 1]));
        Assert.Equal(ErrorCodes.NoReassignmentInProgress, await ReassignAsync("placed", 0, null));
        Assert.Equal(ErrorCodes.UnknownTopicOrPartition, await ReassignAsync("placed", 3, [self]));
        Assert.Equal(ErrorCodes.UnknownTopicOrPartition, await ReassignAsync("absent", 0, [self]));

        var listed = await client.SendAsync<ListPartitionReassignmentsResponse>(ApiKeys.ListPartitionReassignments, 0,
            new ListPartitionReassignmentsRequest { Topics = null });
        Assert.Equal(ErrorCodes.None, listed.ErrorCode);
        Assert.Empty(listed.Topics);
    }
}
