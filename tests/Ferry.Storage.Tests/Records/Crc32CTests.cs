using Ferry.Storage.Records;

namespace Ferry.Storage.Tests.Records;

public sealed class Crc32CTests
{
    [Fact]
    public void KnownVectors_MatchCastagnoli()
    {
        // The check value of CRC-32C (RFC 3720, appendix B.4) for the ASCII digits 1..9.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0x00000000u, Crc32C.Compute([]));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        // RFC 3720 B.4: 32 bytes of 0xFF.
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
    }

    // Lengths around the striping threshold and ones whose thirds are not whole words, so that every way the
    // three stripes and the tail can fall is compared with the plain byte-at-a-time definition.
    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(4103)]
    [InlineData(12_289)]
    [InlineData(65_536)]
    [InlineData(1_048_576 + 61)]
    public void LargeInputs_MatchTheBitwiseDefinition(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);

        Assert.Equal(Bitwise(data), Crc32C.Compute(data));
        data[length / 2] ^= 0x10;
        Assert.Equal(Bitwise(data), Crc32C.Compute(data));
    }

    private static uint Bitwise(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }
}
