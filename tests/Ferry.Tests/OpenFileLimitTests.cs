using System.Net;
using System.Net.Http.Json;
using System.Text;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary>
/// Issue 17's scale floor, scaled down: more partitions and durable queues than the process has descriptors
/// (300 partitions and 400 queues need ~1,100 files open at once without a bound; ferry runs under 512). Every
/// declare, publish and produce succeeds, and a restart under the same limit serves them all again.
/// </summary>
public sealed class OpenFileLimitTests
{
    private const int OpenFiles = 512;
    private const int Topics = 60, PartitionsPerTopic = 5, Queues = 400;

    [Fact]
    public async Task MorePartitionsAndQueuesThanDescriptors_AllServed_AndAfterARestart()
    {
        string data = Path.Combine(Path.GetTempPath(), "ferry-nofile-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var ferry = await FerryProcess.StartWithOpenFileLimitAsync(data, OpenFiles))
            {
                using var http = new HttpClient { BaseAddress = new Uri(ferry.Server) };
                for (int t = 0; t < Topics; t++)
                {
                    var created = await http.PostAsJsonAsync("/api/topics", new { name = $"t{t}", partitions = PartitionsPerTopic });
                    Assert.True(created.StatusCode == HttpStatusCode.Created, $"topic t{t}: {created.StatusCode} {await created.Content.ReadAsStringAsync()}\n{ferry.Output}");
                    for (int p = 0; p < PartitionsPerTopic; p++)
                    {
                        var produced = await http.PostAsJsonAsync($"/api/topics/t{t}/records", new { records = new[] { new { value = $"v{t}-{p}", partition = p } } });
                        Assert.True(produced.IsSuccessStatusCode, $"t{t}-{p}: {produced.StatusCode} {await produced.Content.ReadAsStringAsync()}");
                    }
                }

                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort };
                await using var connection = await factory.CreateConnectionAsync();
                await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                for (int q = 0; q < Queues; q++)
                {
                    await channel.QueueDeclareAsync($"q{q}", durable: true, exclusive: false, autoDelete: false);
                    await channel.BasicPublishAsync("", $"q{q}", mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes($"m{q}"));
                }
                // A message got and acknowledged from every other queue: the ack files are written under the bound too.
                for (int q = 0; q < Queues; q += 2)
                {
                    var got = await channel.BasicGetAsync($"q{q}", autoAck: true);
                    Assert.Equal($"m{q}", Encoding.UTF8.GetString(got!.Body.Span));
                }
                await channel.CloseAsync();
                await connection.CloseAsync();
                ferry.Signal("TERM");
                using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await ferry.Process.WaitForExitAsync(stopping.Token);
                Assert.Equal(0, ferry.Process.ExitCode);
            }

            await using (var ferry = await FerryProcess.StartWithOpenFileLimitAsync(data, OpenFiles))
            {
                using var http = new HttpClient { BaseAddress = new Uri(ferry.Server) };
                foreach (int t in new[] { 0, 31, Topics - 1 })
                {
                    for (int p = 0; p < PartitionsPerTopic; p++)
                    {
                        string records = await http.GetStringAsync($"/api/topics/t{t}/partitions/{p}/records?offset=0&max=10");
                        Assert.Contains($"v{t}-{p}", records);
                    }
                }
                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort };
                await using var connection = await factory.CreateConnectionAsync();
                await using var channel = await connection.CreateChannelAsync();
                for (int q = 0; q < Queues; q++)
                {
                    var got = await channel.BasicGetAsync($"q{q}", autoAck: true);
                    if (q % 2 == 0) Assert.Null(got);
                    else Assert.Equal($"m{q}", Encoding.UTF8.GetString(got!.Body.Span));
                }
            }
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
