using System.Numerics;
using System.Runtime.InteropServices;

namespace Ferry.Storage.Records;

/// <summary>
/// CRC-32C (Castagnoli) through the platform's <see cref="BitOperations.Crc32C(uint, ulong)"/>, which is the
/// SSE 4.2 / ARMv8 CRC instruction where the CPU has one. System.IO.Hashing offers only CRC-32 (IEEE).
/// </summary>
/// <remarks>
/// The CRC instruction takes three cycles but can start one every cycle, so one running CRC uses a third of
/// it. Large inputs (every produced batch is checked: up to 1 MiB each) are cut into three equal stripes whose
/// CRCs run interleaved in one loop and are then joined, the first two shifted past the stripes after them
/// (CRC(A·B) = CRC(A)·x^(8·|B|) + CRC(B) over GF(2)).
/// </remarks>
public static class Crc32C
{
    /// <summary>The reflected Castagnoli polynomial.</summary>
    private const uint Polynomial = 0x82F63B78;

    /// <summary>Below this, three stripes do not pay for the join.</summary>
    private const int StripedThreshold = 4096;

    /// <summary>x^(2^k) mod P, k = 0..31: shifting by n bits multiplies by the powers of n's set bits.</summary>
    private static readonly uint[] s_powers = Powers();

    public static uint Compute(ReadOnlySpan<byte> data) =>
        data.Length < StripedThreshold ? ~Append(~0u, data) : Striped(data);

    private static uint Striped(ReadOnlySpan<byte> data)
    {
        int stripe = data.Length / 3 & ~7;
        var a = MemoryMarshal.Cast<byte, ulong>(data[..stripe]);
        var b = MemoryMarshal.Cast<byte, ulong>(data.Slice(stripe, stripe));
        var c = MemoryMarshal.Cast<byte, ulong>(data.Slice(2 * stripe, stripe));
        uint ca = ~0u, cb = ~0u, cc = ~0u;
        for (int i = 0; i < a.Length; i++)
        {
            ca = BitOperations.Crc32C(ca, a[i]);
            cb = BitOperations.Crc32C(cb, b[i]);
            cc = BitOperations.Crc32C(cc, c[i]);
        }
        cc = Append(cc, data[(3 * stripe)..]);
        uint ab = Multiply(ShiftBytes(stripe), ~ca) ^ ~cb;
        return Multiply(ShiftBytes(data.Length - 2 * stripe), ab) ^ ~cc;
    }

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words) crc = BitOperations.Crc32C(crc, word);
        foreach (byte b in data[(words.Length * sizeof(ulong))..]) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }

    /// <summary>x^(8·<paramref name="bytes"/>) mod P.</summary>
    private static uint ShiftBytes(long bytes)
    {
        uint product = 1u << 31; // x^0
        for (int k = 3; bytes != 0; bytes >>= 1, k++)
        {
            if ((bytes & 1) != 0) product = Multiply(s_powers[k & 31], product);
        }
        return product;
    }

    /// <summary>a·b mod P, both reflected (bit 31 is x^0).</summary>
    private static uint Multiply(uint a, uint b)
    {
        uint product = 0;
        for (uint bit = 1u << 31; bit != 0; bit >>= 1)
        {
            if ((a & bit) != 0) product ^= b;
            b = (b & 1) != 0 ? (b >> 1) ^ Polynomial : b >> 1;
        }
        return product;
    }

    private static uint[] Powers()
    {
        var powers = new uint[32];
        powers[0] = 1u << 30; // x^1
        for (int k = 1; k < 32; k++) powers[k] = Multiply(powers[k - 1], powers[k - 1]);
        return powers;
    }
}
