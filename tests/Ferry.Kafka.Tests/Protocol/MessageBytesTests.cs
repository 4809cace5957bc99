using System.Runtime.InteropServices;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Protocol;

/// <summary>Encodings checked against bytes worked out by hand from the protocol guide.</summary>
public sealed class MessageBytesTests
{
    [Fact]
    public void ApiVersionsV3Request_WithHeaderV2_MatchesHandEncoding()
    {
        short headerVersion = ApiKeys.RequestHeaderVersion(ApiKeys.ApiVersions, 3);
        var header = new RequestHeader { RequestApiKey = ApiKeys.ApiVersions, RequestApiVersion = 3, CorrelationId = 7, ClientId = "cli" };
        var body = new ApiVersionsRequest { ClientSoftwareName = "ferry", ClientSoftwareVersion = "1.0" };

        byte[] bytes = [.. Codec.Encode(header, headerVersion), .. Codec.Encode(body, 3)];

        byte[] expected =
        [
            0x00, 0x12,             // api key 18
            0x00, 0x03,             // api version 3
            0x00, 0x00, 0x00, 0x07, // correlation id
            0x00, 0x03, (byte)'c', (byte)'l', (byte)'i', // client id: int16 length even in header v2
            0x00,                   // header tagged fields: none
            0x06, (byte)'f', (byte)'e', (byte)'r', (byte)'r', (byte)'y', // compact string: length + 1
            0x04, (byte)'1', (byte)'.', (byte)'0',
            0x00,                   // body tagged fields: none
        ];
        Assert.Equal(2, headerVersion);
        Assert.Equal(expected, bytes);

        var reader = new KafkaReader(bytes);
        var readHeader = new RequestHeader();
        readHeader.Read(ref reader, headerVersion);
        var readBody = new ApiVersionsRequest();
        readBody.Read(ref reader, readHeader.RequestApiVersion);
        Assert.True(reader.IsAtEnd);
        Assert.Equal((18, 7, "cli"), (readHeader.RequestApiKey, readHeader.CorrelationId, readHeader.ClientId));
        Assert.Equal(("ferry", "1.0"), (readBody.ClientSoftwareName, readBody.ClientSoftwareVersion));
    }

    [Fact]
    public void MetadataV1Request_MatchesHandEncoding()
    {
        short headerVersion = ApiKeys.RequestHeaderVersion(ApiKeys.Metadata, 1);
        var header = new RequestHeader { RequestApiKey = ApiKeys.Metadata, RequestApiVersion = 1, CorrelationId = 1, ClientId = null };
        var body = new MetadataRequest { Topics = [new() { Name = "a" }, new() { Name = "bc" }] };

        byte[] bytes = [.. Codec.Encode(header, headerVersion), .. Codec.Encode(body, 1)];

        byte[] expected =
        [
            0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
            0xFF, 0xFF,                   // null client id
            0x00, 0x00, 0x00, 0x02,       // two topics
            0x00, 0x01, (byte)'a',
            0x00, 0x02, (byte)'b', (byte)'c',
        ];
        Assert.Equal(1, headerVersion);
        Assert.Equal(expected, bytes);
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF], Codec.Encode(new MetadataRequest { Topics = null }, 1));
    }

    [Fact]
    public void ProduceV3Request_MatchesHandEncoding_AndRecordsAreASliceOfTheInput()
    {
        byte[] records = [0xDE, 0xAD, 0xBE, 0xEF];
        var request = new ProduceRequest
        {
            TransactionalId = null,
            Acks = -1,
            TimeoutMs = 30_000,
            TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = records }] }],
        };

        byte[] bytes = Codec.Encode(request, 3);

        byte[] expected =
        [
            0xFF, 0xFF,             // null transactional id
            0xFF, 0xFF,             // acks -1
            0x00, 0x00, 0x75, 0x30, // timeout 30000
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, (byte)'t',
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF,
        ];
        Assert.Equal(expected, bytes);

        // Read from the middle of a larger buffer: the slice must point into it, not at a copy.
        byte[] frame = [0x55, 0x55, .. bytes, 0x66];
        var reader = new KafkaReader(frame.AsMemory(2, bytes.Length));
        var read = new ProduceRequest();
        read.Read(ref reader, 3);

        ReadOnlyMemory<byte> slice = read.TopicData[0].PartitionData[0].Records!.Value;
        Assert.True(MemoryMarshal.TryGetArray(slice, out ArraySegment<byte> segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(2 + expected.Length - 4, segment.Offset);
        Assert.Equal(4, segment.Count);
    }

    [Fact]
    public void ApiVersionsV3Response_TaggedFields_MatchHandEncoding()
    {
        var response = new ApiVersionsResponse
        {
            ApiKeys = [new() { ApiKey = 18, MinVersion = 0, MaxVersion = 4 }],
            FinalizedFeaturesEpoch = 5,
            ZkMigrationReady = true,
        };

        byte[] bytes = Codec.Encode(response, 3);

        byte[] expected =
        [
            0x00, 0x00,                         // error code
            0x02,                               // compact array of one
            0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,
            0x00, 0x00, 0x00, 0x00,             // throttle time
            0x02,                               // two tagged fields, in tag order
            0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5, // tag 1: FinalizedFeaturesEpoch, 8 bytes
            0x03, 0x01, 0x01,                   // tag 3: ZkMigrationReady
        ];
        Assert.Equal(expected, bytes);
        ApiVersionsResponse read = Codec.Decode<ApiVersionsResponse>(bytes, 3);
        Assert.Equal(5, read.FinalizedFeaturesEpoch);
        Assert.True(read.ZkMigrationReady);
        Assert.Empty(read.SupportedFeatures);
    }

    [Fact]
    public void TaggedString_SizePrefixIsMeasured()
    {
        var request = new FetchRequest { ClusterId = "abc", ReplicaId = -1 };

        byte[] bytes = Codec.Encode(request, 12);

        // The tagged section is last: one field, tag 0, size 4, compact "abc".
        Assert.Equal([0x01, 0x00, 0x04, 0x04, (byte)'a', (byte)'b', (byte)'c'], bytes[^7..]);
        Assert.Equal("abc", Codec.Decode<FetchRequest>(bytes, 12).ClusterId);
    }

    [Fact]
    public void UnknownTaggedField_IsSkipped()
    {
        byte[] bytes =
        [
            0x06, (byte)'f', (byte)'e', (byte)'r', (byte)'r', (byte)'y',
            0x01,                   // empty ClientSoftwareVersion
            0x01,                   // one tagged field
            0x7F, 0x03, 1, 2, 3,    // tag 127, three bytes nobody knows
        ];

        ApiVersionsRequest read = Codec.Decode<ApiVersionsRequest>(bytes, 3);

        Assert.Equal("ferry", read.ClientSoftwareName);
    }

    [Fact]
    public void HeaderVersions_FollowFlexibleVersions()
    {
        Assert.Equal(1, ApiKeys.RequestHeaderVersion(ApiKeys.Produce, 8));
        Assert.Equal(2, ApiKeys.RequestHeaderVersion(ApiKeys.Produce, 9));
        Assert.Equal(0, ApiKeys.ResponseHeaderVersion(ApiKeys.Produce, 8));
        Assert.Equal(1, ApiKeys.ResponseHeaderVersion(ApiKeys.Produce, 9));
        Assert.Equal(2, ApiKeys.RequestHeaderVersion(ApiKeys.ApiVersions, 3));
        Assert.Equal(0, ApiKeys.ResponseHeaderVersion(ApiKeys.ApiVersions, 3));
        Assert.Equal(1, ApiKeys.RequestHeaderVersion(ApiKeys.SaslHandshake, 1));
        Assert.Equal(1, ApiKeys.RequestHeaderVersion(999, 0));
        Assert.True(ApiKeys.TryGet(ApiKeys.Fetch, out ApiKeyInfo fetch));
        Assert.Equal(new ApiKeyInfo(1, "Fetch", 0, 17, 12, 12), fetch);
        Assert.False(ApiKeys.TryGet(4, out _));
        Assert.Equal(43, ApiKeys.All.Count);
    }
}
