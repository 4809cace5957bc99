using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Protocol;

public sealed class MalformedInputTests
{
    [Theory]
    [MemberData(nameof(MessageRoundTripTests.AllMessageVersions), MemberType = typeof(MessageRoundTripTests))]
    public void Read_EveryTruncation_ThrowsProtocolException(string message, short version)
    {
        Type type = Codec.MessageTypes[message];
        byte[] bytes = Codec.Encode(Codec.Fill(type), version);

        for (int length = 0; length < bytes.Length; length++)
        {
            IKafkaMessage target = Codec.Create(type);
            ReadOnlyMemory<byte> prefix = bytes.AsMemory(0, length);
            Assert.Throws<KafkaProtocolException>(() =>
            {
                var reader = new KafkaReader(prefix);
                target.Read(ref reader, version);
            });
        }
    }

    [Fact]
    public void Read_RandomCorruption_OnlyEverThrowsProtocolException()
    {
        var random = new Random(1234);
        (Type Type, short Version)[] cases =
        [
            (typeof(ProduceRequest), 3), (typeof(ProduceRequest), 9), (typeof(FetchRequest), 15),
            (typeof(FetchResponse), 16), (typeof(MetadataResponse), 12), (typeof(ApiVersionsResponse), 3),
            (typeof(JoinGroupRequest), 9), (typeof(OffsetCommitRequest), 9), (typeof(CreateTopicsRequest), 7),
        ];
        foreach ((Type type, short version) in cases)
        {
            byte[] valid = Codec.Encode(Codec.Fill(type), version);
            for (int round = 0; round < 300; round++)
            {
                byte[] corrupt = (byte[])valid.Clone();
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
                }
                try
                {
                    var reader = new KafkaReader(corrupt);
                    Codec.Create(type).Read(ref reader, version);
                }
                catch (KafkaProtocolException)
                {
                }
            }
        }
    }

    [Fact]
    public void Read_HugeArrayLengthWithFewBytes_ThrowsWithoutAllocating()
    {
        byte[] bytes = [0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x01, (byte)'a'];
        var request = new MetadataRequest();
        long before = GC.GetAllocatedBytesForCurrentThread();

        var exception = Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            request.Read(ref reader, 1);
        });

        // An exception and its stack trace cost a few kilobytes; a list of 2^31-1 would cost gigabytes.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 64 * 1024);
        Assert.Contains("2147483647", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HugeCompactArrayLength_Throws()
    {
        // Unsigned varint 0xFFFFFFFF as a compact array length (v9 is flexible).
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            new MetadataRequest().Read(ref reader, 9);
        });
    }

    [Fact]
    public void Read_NegativeLengthOfNonNullableArray_Throws()
    {
        // Metadata v0: topics are not nullable, so -1 is malformed (from v1 it means "all topics").
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            new MetadataRequest().Read(ref reader, 0);
        });
        var reader = new KafkaReader(bytes);
        var request = new MetadataRequest();
        request.Read(ref reader, 1);
        Assert.Null(request.Topics);
    }

    [Fact]
    public void Read_NegativeLengthOfNonNullableString_Throws()
    {
        // Produce v3 topic name of length -1.
        byte[] bytes = [0xFF, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            new ProduceRequest().Read(ref reader, 3);
        });
    }

    [Fact]
    public void Read_NullableLengthBelowMinusOne_Throws()
    {
        byte[] bytes = [0xFF, 0xFE];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            reader.ReadNullableString();
        });
    }

    [Fact]
    public void Read_TaggedFieldSizeLargerThanInput_Throws()
    {
        byte[] bytes = [0x01, 0x01, 0x02, 0x00, 0x01, 0x00, 0x7F, 0x7F];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            new ApiVersionsRequest().Read(ref reader, 3);
        });
    }

    [Fact]
    public void Read_KnownTaggedFieldWithWrongSize_Throws()
    {
        // ApiVersions v3 response, FinalizedFeaturesEpoch (int64) declared as 9 bytes.
        byte[] bytes = [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 5, 0];
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            new ApiVersionsResponse().Read(ref reader, 3);
        });
    }

    [Fact]
    public void Read_UnsupportedVersion_Throws()
    {
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(new byte[16]);
            new ProduceRequest().Read(ref reader, 12);
        });
    }

    [Fact]
    public void Write_NullIntoNonNullableVersion_Throws()
    {
        var request = new MetadataRequest { Topics = null };
        Assert.Throws<KafkaProtocolException>(() => Codec.Encode(request, 0));
    }
}
