using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Protocol;

public sealed class MessageRoundTripTests
{
    /// <summary>Every generated message at every version it supports.</summary>
    public static TheoryData<string, short> AllMessageVersions()
    {
        var data = new TheoryData<string, short>();
        foreach ((string name, Type type) in Codec.MessageTypes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            (short lowest, short highest) = Codec.Versions(type);
            for (short v = lowest; v <= highest; v++)
            {
                data.Add(name, v);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllMessageVersions))]
    public void RoundTrip_EveryFieldSet_ReencodesIdentically(string message, short version)
    {
        Type type = Codec.MessageTypes[message];
        IKafkaMessage original = Codec.Fill(type);

        byte[] first = Codec.Encode(original, version);
        IKafkaMessage decoded = Codec.Decode(type, first, version);
        byte[] second = Codec.Encode(decoded, version);

        Assert.Equal(first, second);
        Assert.Equal(first.Length, original.ComputeSize(version));
    }

    [Theory]
    [MemberData(nameof(AllMessageVersions))]
    public void RoundTrip_Defaults_ReencodesIdentically(string message, short version)
    {
        Type type = Codec.MessageTypes[message];
        IKafkaMessage original = Codec.Create(type);

        byte[] first = Codec.Encode(original, version);
        byte[] second = Codec.Encode(Codec.Decode(type, first, version), version);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Produce_AllVersions_KeepsKeyFields()
    {
        byte[] records = [0, 0, 0, 0, 0, 0, 0, 1, 0xDE, 0xAD];
        for (short v = ProduceRequest.LowestSupportedVersion; v <= ProduceRequest.HighestSupportedVersion; v++)
        {
            var request = new ProduceRequest
            {
                TransactionalId = "tx-1",
                Acks = -1,
                TimeoutMs = 30_000,
                TopicData =
                [
                    new() { Name = "orders", PartitionData = [new() { Index = 3, Records = records }, new() { Index = 4, Records = null }] },
                ],
            };

            ProduceRequest read = Codec.Decode<ProduceRequest>(Codec.Encode(request, v), v);

            Assert.Equal(v >= 3 ? "tx-1" : null, read.TransactionalId);
            Assert.Equal(-1, read.Acks);
            Assert.Equal(30_000, read.TimeoutMs);
            ProduceRequest.TopicProduceData topic = Assert.Single(read.TopicData);
            Assert.Equal("orders", topic.Name);
            Assert.Equal(3, topic.PartitionData[0].Index);
            Assert.Equal(records, topic.PartitionData[0].Records!.Value.ToArray());
            Assert.Null(topic.PartitionData[1].Records);
        }
    }

    [Fact]
    public void ProduceResponse_AllVersions_KeepsKeyFields()
    {
        for (short v = ProduceResponse.LowestSupportedVersion; v <= ProduceResponse.HighestSupportedVersion; v++)
        {
            var response = new ProduceResponse
            {
                Responses =
                [
                    new()
                    {
                        Name = "orders",
                        PartitionResponses =
                        [
                            new() { Index = 1, ErrorCode = 6, BaseOffset = 42, CurrentLeader = new() { LeaderId = 2, LeaderEpoch = 9 } },
                        ],
                    },
                ],
                ThrottleTimeMs = 5,
            };

            ProduceResponse read = Codec.Decode<ProduceResponse>(Codec.Encode(response, v), v);

            ProduceResponse.PartitionProduceResponse partition = Assert.Single(Assert.Single(read.Responses).PartitionResponses);
            Assert.Equal(42, partition.BaseOffset);
            Assert.Equal(6, partition.ErrorCode);
            Assert.Equal(v >= 1 ? 5 : 0, read.ThrottleTimeMs);
            // CurrentLeader is a tagged field from v10.
            Assert.Equal(v >= 10 ? 2 : -1, partition.CurrentLeader.LeaderId);
        }
    }

    [Fact]
    public void Fetch_AllVersions_KeepsKeyFields()
    {
        var topicId = Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        for (short v = FetchRequest.LowestSupportedVersion; v <= FetchRequest.HighestSupportedVersion; v++)
        {
            var request = new FetchRequest
            {
                ClusterId = "cluster",
                ReplicaId = -1,
                MaxWaitMs = 500,
                MinBytes = 1,
                IsolationLevel = 1,
                Topics =
                [
                    new() { Topic = "orders", TopicId = topicId, Partitions = [new() { Partition = 2, FetchOffset = 100, PartitionMaxBytes = 1 << 20 }] },
                ],
            };

            FetchRequest read = Codec.Decode<FetchRequest>(Codec.Encode(request, v), v);

            FetchRequest.FetchTopic topic = Assert.Single(read.Topics);
            Assert.Equal(v <= 12 ? "orders" : "", topic.Topic);
            Assert.Equal(v >= 13 ? topicId : Guid.Empty, topic.TopicId);
            Assert.Equal(100, Assert.Single(topic.Partitions).FetchOffset);
            Assert.Equal(500, read.MaxWaitMs);
            Assert.Equal(v >= 4 ? (sbyte)1 : (sbyte)0, read.IsolationLevel);
            Assert.Equal(v >= 12 ? "cluster" : null, read.ClusterId);
        }

        byte[] records = [1, 2, 3, 4, 5];
        for (short v = FetchResponse.LowestSupportedVersion; v <= FetchResponse.HighestSupportedVersion; v++)
        {
            var response = new FetchResponse
            {
                Responses =
                [
                    new()
                    {
                        Topic = "orders",
                        TopicId = topicId,
                        Partitions =
                        [
                            new()
                            {
                                PartitionIndex = 2,
                                HighWatermark = 77,
                                AbortedTransactions = null,
                                Records = records,
                                DivergingEpoch = new() { Epoch = 3, EndOffset = 50 },
                            },
                        ],
                    },
                ],
            };

            FetchResponse read = Codec.Decode<FetchResponse>(Codec.Encode(response, v), v);

            FetchResponse.PartitionData partition = Assert.Single(Assert.Single(read.Responses).Partitions);
            Assert.Equal(77, partition.HighWatermark);
            Assert.Equal(records, partition.Records!.Value.ToArray());
            Assert.Equal(v >= 12 ? 3 : -1, partition.DivergingEpoch.Epoch);
            if (v >= 4)
            {
                // Nullable from v4; older versions have no aborted transactions at all.
                Assert.Null(partition.AbortedTransactions);
            }
        }
    }

    [Fact]
    public void Metadata_AllVersions_KeepsKeyFields()
    {
        for (short v = MetadataRequest.LowestSupportedVersion; v <= MetadataRequest.HighestSupportedVersion; v++)
        {
            var request = new MetadataRequest { Topics = [new() { Name = "a" }, new() { Name = "b" }], AllowAutoTopicCreation = false };

            MetadataRequest read = Codec.Decode<MetadataRequest>(Codec.Encode(request, v), v);

            Assert.Equal(["a", "b"], read.Topics!.Select(t => t.Name));
            Assert.Equal(v < 4, read.AllowAutoTopicCreation);
            if (v >= 1)
            {
                var all = new MetadataRequest { Topics = null };
                Assert.Null(Codec.Decode<MetadataRequest>(Codec.Encode(all, v), v).Topics);
            }
        }

        for (short v = MetadataResponse.LowestSupportedVersion; v <= MetadataResponse.HighestSupportedVersion; v++)
        {
            var response = new MetadataResponse
            {
                Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = 9092, Rack = "r1" }],
                ClusterId = "ferry",
                ControllerId = 1,
                Topics = [new() { Name = "a", Partitions = [new() { PartitionIndex = 0, LeaderId = 1, ReplicaNodes = [1], IsrNodes = [1] }] }],
            };

            MetadataResponse read = Codec.Decode<MetadataResponse>(Codec.Encode(response, v), v);

            MetadataResponse.MetadataResponseBroker broker = Assert.Single(read.Brokers);
            Assert.Equal(("127.0.0.1", 9092), (broker.Host, broker.Port));
            Assert.Equal(v >= 1 ? "r1" : null, broker.Rack);
            Assert.Equal(v >= 2 ? "ferry" : null, read.ClusterId);
            Assert.Equal([1], Assert.Single(Assert.Single(read.Topics).Partitions).ReplicaNodes);
        }
    }

    [Fact]
    public void ApiVersions_AllVersions_KeepsKeyFields()
    {
        for (short v = ApiVersionsResponse.LowestSupportedVersion; v <= ApiVersionsResponse.HighestSupportedVersion; v++)
        {
            var response = new ApiVersionsResponse
            {
                ApiKeys = [.. ApiKeys.All.Select(a => new ApiVersionsResponse.ApiVersion { ApiKey = a.ApiKey, MinVersion = a.MinVersion, MaxVersion = a.MaxVersion })],
                ThrottleTimeMs = 1,
                FinalizedFeaturesEpoch = 7,
                SupportedFeatures = [new() { Name = "metadata.version", MinVersion = 1, MaxVersion = 20 }],
            };

            ApiVersionsResponse read = Codec.Decode<ApiVersionsResponse>(Codec.Encode(response, v), v);

            Assert.Equal(ApiKeys.All.Count, read.ApiKeys.Count);
            Assert.Equal(ApiKeys.Fetch, read.ApiKeys[1].ApiKey);
            Assert.Equal(17, read.ApiKeys[1].MaxVersion);
            Assert.Equal(v >= 3 ? 7 : -1, read.FinalizedFeaturesEpoch);
            Assert.Equal(v >= 3 ? 1 : 0, read.SupportedFeatures.Count);
        }

        for (short v = ApiVersionsRequest.LowestSupportedVersion; v <= ApiVersionsRequest.HighestSupportedVersion; v++)
        {
            var request = new ApiVersionsRequest { ClientSoftwareName = "ferry-test", ClientSoftwareVersion = "1.0" };
            ApiVersionsRequest read = Codec.Decode<ApiVersionsRequest>(Codec.Encode(request, v), v);
            Assert.Equal(v >= 3 ? "ferry-test" : "", read.ClientSoftwareName);
        }
    }

    [Fact]
    public void JoinGroup_AllVersions_KeepsKeyFields()
    {
        byte[] metadata = [0, 1, 0, 0, 0, 1, 0, 1, 0x61];
        for (short v = JoinGroupRequest.LowestSupportedVersion; v <= JoinGroupRequest.HighestSupportedVersion; v++)
        {
            var request = new JoinGroupRequest
            {
                GroupId = "g",
                SessionTimeoutMs = 10_000,
                RebalanceTimeoutMs = 20_000,
                MemberId = "",
                GroupInstanceId = "static-1",
                ProtocolType = "consumer",
                Protocols = [new() { Name = "range", Metadata = metadata }],
                Reason = "rejoin",
            };

            JoinGroupRequest read = Codec.Decode<JoinGroupRequest>(Codec.Encode(request, v), v);

            Assert.Equal("g", read.GroupId);
            Assert.Equal(v >= 1 ? 20_000 : -1, read.RebalanceTimeoutMs);
            Assert.Equal(v >= 5 ? "static-1" : null, read.GroupInstanceId);
            Assert.Equal(metadata, Assert.Single(read.Protocols).Metadata);
            Assert.Equal(v >= 8 ? "rejoin" : null, read.Reason);
        }

        for (short v = JoinGroupResponse.LowestSupportedVersion; v <= JoinGroupResponse.HighestSupportedVersion; v++)
        {
            var response = new JoinGroupResponse
            {
                GenerationId = 3,
                ProtocolName = "range",
                Leader = "m-1",
                MemberId = "m-1",
                Members = [new() { MemberId = "m-1", Metadata = metadata }],
            };

            JoinGroupResponse read = Codec.Decode<JoinGroupResponse>(Codec.Encode(response, v), v);

            Assert.Equal(3, read.GenerationId);
            Assert.Equal("range", read.ProtocolName);
            Assert.Equal(metadata, Assert.Single(read.Members).Metadata);
        }
    }

    [Fact]
    public void OffsetCommit_AllVersions_KeepsKeyFields()
    {
        for (short v = OffsetCommitRequest.LowestSupportedVersion; v <= OffsetCommitRequest.HighestSupportedVersion; v++)
        {
            var request = new OffsetCommitRequest
            {
                GroupId = "g",
                GenerationIdOrMemberEpoch = 4,
                MemberId = "m-1",
                Topics =
                [
                    new() { Name = "orders", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 1234, CommittedMetadata = null }] },
                ],
            };

            OffsetCommitRequest read = Codec.Decode<OffsetCommitRequest>(Codec.Encode(request, v), v);

            OffsetCommitRequest.OffsetCommitRequestPartition partition = Assert.Single(Assert.Single(read.Topics).Partitions);
            Assert.Equal(1234, partition.CommittedOffset);
            Assert.Null(partition.CommittedMetadata);
            Assert.Equal(v >= 1 ? 4 : -1, read.GenerationIdOrMemberEpoch);
        }
    }

    [Fact]
    public void CreateTopics_AllVersions_KeepsKeyFields()
    {
        for (short v = CreateTopicsRequest.LowestSupportedVersion; v <= CreateTopicsRequest.HighestSupportedVersion; v++)
        {
            var request = new CreateTopicsRequest
            {
                Topics =
                [
                    new()
                    {
                        Name = "t",
                        NumPartitions = -1,
                        ReplicationFactor = -1,
                        Assignments = [new() { PartitionIndex = 0, BrokerIds = [1, 2] }],
                        Configs = [new() { Name = "retention.ms", Value = "1000" }, new() { Name = "x", Value = null }],
                    },
                ],
                TimeoutMs = 5000,
                ValidateOnly = true,
            };

            CreateTopicsRequest read = Codec.Decode<CreateTopicsRequest>(Codec.Encode(request, v), v);

            CreateTopicsRequest.CreatableTopic topic = Assert.Single(read.Topics);
            Assert.Equal([1, 2], Assert.Single(topic.Assignments).BrokerIds);
            Assert.Equal("1000", topic.Configs[0].Value);
            Assert.Null(topic.Configs[1].Value);
            Assert.Equal(5000, read.TimeoutMs);
            Assert.Equal(v >= 1, read.ValidateOnly);
        }

        for (short v = CreateTopicsResponse.LowestSupportedVersion; v <= CreateTopicsResponse.HighestSupportedVersion; v++)
        {
            var response = new CreateTopicsResponse
            {
                Topics = [new() { Name = "t", ErrorCode = 36, ErrorMessage = "exists", NumPartitions = 3, TopicConfigErrorCode = 5 }],
            };

            CreateTopicsResponse.CreatableTopicResult topic =
                Assert.Single(Codec.Decode<CreateTopicsResponse>(Codec.Encode(response, v), v).Topics);

            Assert.Equal(36, topic.ErrorCode);
            // Absent before v1; the schema gives no default, so it is "" as in Kafka's generated Java.
            Assert.Equal(v >= 1 ? "exists" : "", topic.ErrorMessage);
            Assert.Equal(v >= 5 ? 5 : 0, topic.TopicConfigErrorCode);
        }
    }
}
