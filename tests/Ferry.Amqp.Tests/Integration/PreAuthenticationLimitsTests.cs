using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// Before authentication costs little: a raw socket that never finishes logging in is closed after
/// Security:AuthenticationTimeoutSeconds (Kafka SASL and AMQP), and Security:MaxConnectionsPerAddress caps the
/// sockets one address holds.
/// </summary>
public sealed class PreAuthenticationLimitsTests
{
    /// <summary>Seconds until the server closes the socket (reads 0 bytes or fails), at most <paramref name="limit"/>.</summary>
    private static async Task<double> SecondsUntilClosedAsync(Socket socket, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
                // AMQP answers the protocol header with connection.start; keep reading until the close.
            }
        }
        catch (SocketException)
        {
            // Reset: closed too.
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    [Fact]
    public async Task StalledLogins_AreClosedAfterTheAuthenticationTimeout()
    {
        int kafka = FerryServer.FreePort(), amqp = FerryServer.FreePort();
        await using var server = await FerryServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Listeners:Amqp"] = $"127.0.0.1:{amqp}",
            ["Listeners:Kafka"] = $"SASL_PLAINTEXT://127.0.0.1:{kafka}",
            ["Security:AuthenticationTimeoutSeconds"] = "2",
        });

        using var silentKafka = await ConnectAsync(kafka);
        using var silentAmqp = await ConnectAsync(amqp);
        using var halfAmqp = await ConnectAsync(amqp);
        await halfAmqp.SendAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), SocketFlags.None); // header, then never start-ok

        var limit = TimeSpan.FromSeconds(60);
        var closes = await Task.WhenAll(SecondsUntilClosedAsync(silentKafka, limit), SecondsUntilClosedAsync(silentAmqp, limit), SecondsUntilClosedAsync(halfAmqp, limit));
        foreach (double seconds in closes)
        {
            Assert.InRange(seconds, 1.5, 50);
        }
    }

    [Fact]
    public async Task ConnectionsPerAddress_OverTheLimit_AreClosedAtOnce()
    {
        int amqp = FerryServer.FreePort();
        await using var server = await FerryServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Listeners:Amqp"] = $"127.0.0.1:{amqp}",
            ["Security:MaxConnectionsPerAddress"] = "2",
        });
        // The first two are seen through to connection.start before the third dials: the broker counts a connection
        // when its middleware runs, which need not be in the order the kernel accepted them.
        using var first = await ConnectAsync(amqp);
        await ExpectConnectionStartAsync(first);
        using var second = await ConnectAsync(amqp);
        await ExpectConnectionStartAsync(second);
        using var third = await ConnectAsync(amqp);
        // The third is closed by the server without a byte (the first two stay until their login timeout).
        Assert.InRange(await SecondsUntilClosedAsync(third, TimeSpan.FromSeconds(30)), 0, 8);
        first.Close();
        // A slot is free again once the first one is gone.
        await Task.Delay(500);
        using var fourth = await ConnectAsync(amqp);
        await ExpectConnectionStartAsync(fourth);
    }

    private static async Task ExpectConnectionStartAsync(Socket socket)
    {
        await socket.SendAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), SocketFlags.None);
        var buffer = new byte[7];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.True(await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0, "connection.start");
    }
}
