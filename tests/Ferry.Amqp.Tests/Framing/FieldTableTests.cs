using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Framing;

public sealed class FieldTableTests
{
    private static Dictionary<string, object?> EveryType() => new()
    {
        ["t"] = true,
        ["b"] = (sbyte)-5,
        ["B"] = (byte)250,
        ["s"] = (short)-300,
        ["u"] = (ushort)65000,
        ["I"] = -70000,
        ["i"] = 4_000_000_000u,
        ["l"] = -5_000_000_000L,
        ["f"] = 1.5f,
        ["d"] = -2.25,
        ["D"] = new AmqpDecimal(2, 12345),
        ["S"] = "héllo"u8.ToArray(),
        ["x"] = new AmqpByteArray([0, 1, 2, 255]),
        ["A"] = new List<object?> { 1, "two"u8.ToArray(), null, new List<object?> { true } },
        ["T"] = new AmqpTimestamp(1_700_000_000),
        ["F"] = new Dictionary<string, object?> { ["nested"] = new Dictionary<string, object?> { ["deep"] = (byte)1 } },
        ["V"] = null,
    };

    [Fact]
    public void ReadTable_EveryType_KeepsTypesAndWritesBackExactly()
    {
        byte[] encoded = TestBuffers.EncodeTable(EveryType());

        var reader = new AmqpReader(encoded);
        Dictionary<string, object?>? table = reader.ReadTable();

        Assert.Equal(0, reader.Remaining);
        Assert.NotNull(table);
        Assert.Equal(EveryType().Keys, table.Keys);
        Assert.Equal(true, table["t"]);
        Assert.Equal((sbyte)-5, table["b"]);
        Assert.Equal((byte)250, table["B"]);
        Assert.Equal((short)-300, table["s"]);
        Assert.Equal((ushort)65000, table["u"]);
        Assert.Equal(-70000, table["I"]);
        Assert.Equal(4_000_000_000u, table["i"]);
        Assert.Equal(-5_000_000_000L, table["l"]);
        Assert.Equal(1.5f, table["f"]);
        Assert.Equal(-2.25, table["d"]);
        Assert.Equal(new AmqpDecimal(2, 12345), table["D"]);
        Assert.Equal("héllo"u8.ToArray(), Assert.IsType<byte[]>(table["S"]));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, Assert.IsType<AmqpByteArray>(table["x"]).Bytes);
        var array = Assert.IsType<List<object?>>(table["A"]);
        Assert.Equal(4, array.Count);
        Assert.Equal(1, array[0]);
        Assert.Null(array[2]);
        Assert.Equal(new AmqpTimestamp(1_700_000_000), table["T"]);
        var nested = Assert.IsType<Dictionary<string, object?>>(table["F"]);
        Assert.Equal((byte)1, Assert.IsType<Dictionary<string, object?>>(nested["nested"])["deep"]);
        Assert.Null(table["V"]);
        Assert.Equal(encoded, TestBuffers.EncodeTable(table));
    }

    [Fact]
    public void WriteTable_IsByteExact()
    {
        var table = new Dictionary<string, object?> { ["a"] = 1, ["s"] = "xy" };

        byte[] encoded = TestBuffers.EncodeTable(table);

        byte[] expected =
        [
            0x00, 0x00, 0x00, 0x10,                         // table length 16
            0x01, (byte)'a', (byte)'I', 0x00, 0x00, 0x00, 0x01,
            0x01, (byte)'s', (byte)'S', 0x00, 0x00, 0x00, 0x02, (byte)'x', (byte)'y',
        ];
        Assert.Equal(expected, encoded);
    }

    [Fact]
    public void WriteTable_StringAndBytes_BothAsLongString()
    {
        byte[] fromString = TestBuffers.EncodeTable(new Dictionary<string, object?> { ["k"] = "v" });
        byte[] fromBytes = TestBuffers.EncodeTable(new Dictionary<string, object?> { ["k"] = "v"u8.ToArray() });

        Assert.Equal(fromString, fromBytes);
        Assert.Equal((byte)'S', fromString[6]);
    }

    [Fact]
    public void ReadTable_Empty_IsNullAndWritesBackEmpty()
    {
        var reader = new AmqpReader([0, 0, 0, 0]);

        Assert.Null(reader.ReadTable());
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, TestBuffers.EncodeTable(null));
    }

    [Fact]
    public void ReadTable_EveryStrictPrefix_ThrowsSyntaxError()
    {
        byte[] encoded = TestBuffers.EncodeTable(EveryType());
        for (int length = 0; length < encoded.Length; length++)
        {
            byte[] prefix = encoded[..length];

            var ex = Assert.Throws<AmqpFrameException>(() =>
            {
                var reader = new AmqpReader(prefix);
                reader.ReadTable();
            });

            Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
        }
    }

    [Fact]
    public void ReadTable_InnerLengthBeyondTable_ThrowsSyntaxError()
    {
        // The outer table is 7 bytes long, but its long string claims 100 bytes.
        byte[] encoded = [0, 0, 0, 7, 1, (byte)'k', (byte)'S', 0, 0, 0, 100, 0, 0, 0, 0];

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(encoded);
            reader.ReadTable();
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void ReadTable_HugeLength_ThrowsSyntaxErrorWithoutAllocating()
    {
        byte[] encoded = [0xFF, 0xFF, 0xFF, 0xFF, 0x00];

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(encoded);
            reader.ReadTable();
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void ReadTable_UnknownType_ThrowsSyntaxError()
    {
        byte[] encoded = [0, 0, 0, 4, 1, (byte)'k', (byte)'Z', 0];

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(encoded);
            reader.ReadTable();
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void ReadTable_NestedTooDeep_ThrowsSyntaxError()
    {
        var table = new Dictionary<string, object?>();
        var innermost = table;
        for (int i = 0; i < 100; i++)
        {
            var next = new Dictionary<string, object?>();
            innermost["n"] = next;
            innermost = next;
        }

        byte[] encoded = TestBuffers.EncodeTable(table);

        var ex = Assert.Throws<AmqpFrameException>(() =>
        {
            var reader = new AmqpReader(encoded);
            reader.ReadTable();
        });

        Assert.Equal(AmqpConstants.SyntaxError, ex.ReplyCode);
    }

    [Fact]
    public void WriteTable_UnsupportedValue_Throws()
    {
        var table = new Dictionary<string, object?> { ["k"] = new object() };

        Assert.Throws<ArgumentException>(() => AmqpWriter.GetTableSize(table));
    }
}
