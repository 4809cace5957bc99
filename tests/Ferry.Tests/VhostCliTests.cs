using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary><c>ferry vhosts</c>, <c>ferry permissions</c> and the management paths with a vhost segment.</summary>
public sealed class VhostCliTests
{
    [Fact]
    public async Task VhostsAndPermissions_RoundTrip_QueueEndpointsTakeTheVhost()
    {
        await using var ferry = new LiveFerry();
        await ferry.InitializeAsync();
        // Once a user exists the admin API wants HTTP Basic: the first one is an administrator.
        var root = await ferry.RunWithInputAsync("root-pw-123\n", "users", "add", "root", "--tags", "administrator");
        Assert.True(root.ExitCode == 0, root.Stderr);
        ferry.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("root:root-pw-123")));
        var env = new Dictionary<string, string> { ["FERRY_USER"] = "root", ["FERRY_PASSWORD"] = "root-pw-123" };
        Task<(int ExitCode, string Stdout, string Stderr)> Run(string? input, params string[] args) =>
            FerryProcess.RunWithEnvironmentAsync(input, env, [.. args, "--server", ferry.Server]);

        var added = await Run(null, "vhosts", "add", "staging");
        Assert.True(added.ExitCode == 0, added.Stderr);
        var listed = await Run(null, "vhosts", "list");
        Assert.Contains("staging", listed.Stdout);
        Assert.Contains("/", listed.Stdout);

        // RabbitMQ's management API: the vhost URL-encoded.
        Assert.Equal(HttpStatusCode.NoContent, (await ferry.Http.PutAsync("/api/vhosts/staging", JsonContent.Create(new { }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await ferry.Http.PutAsync("/api/vhosts/a%2Fb", JsonContent.Create(new { }))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ferry.Http.GetAsync("/api/vhosts/a%2Fb")).StatusCode);

        var users = await Run("app-pw-123\n", "users", "add", "app");
        Assert.True(users.ExitCode == 0, users.Stderr);
        var set = await Run(null, "permissions", "set", "--vhost", "staging", "app", "^app-.*", ".*", ".*");
        Assert.True(set.ExitCode == 0, set.Stderr);
        var bad = await ferry.Http.PutAsync("/api/permissions/staging/app", JsonContent.Create(new { configure = "(", write = ".*", read = ".*" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var permissions = await Run(null, "permissions", "list", "--json");
        Assert.Contains("\"^app-.*\"", permissions.Stdout);
        Assert.Contains("permissions.json", string.Join(",", Directory.GetFiles(Path.Combine(ferry.DataDirectory, "security"))));

        // A queue in staging through AMQP, seen at /api/queues/staging/NAME and not at /api/queues/NAME (vhost "/").
        var factory = new ConnectionFactory { Uri = new Uri($"amqp://guest:guest@127.0.0.1:{ferry.Process.AmqpPort}/staging") };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.QueueDeclareAsync("work", durable: true, exclusive: false, autoDelete: false);
            await channel.BasicPublishAsync("", "work", Encoding.UTF8.GetBytes("x"));
        }
        var queue = JsonDocument.Parse(await ferry.Http.GetStringAsync("/api/queues/staging/work")).RootElement;
        Assert.Equal(1, queue.GetProperty("ready").GetInt32());
        Assert.Equal("staging", queue.GetProperty("vhost").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await ferry.Http.GetAsync("/api/queues/work")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ferry.Http.GetAsync("/api/queues/%2F/work")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ferry.Http.DeleteAsync("/api/queues/staging/work/contents")).StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await ferry.Http.GetStringAsync("/api/queues/staging/work")).RootElement.GetProperty("ready").GetInt32());

        var cleared = await Run(null, "permissions", "clear", "--vhost", "staging", "app");
        Assert.True(cleared.ExitCode == 0, cleared.Stderr);
        var deleted = await Run(null, "vhosts", "delete", "staging");
        Assert.True(deleted.ExitCode == 0, deleted.Stderr);
        Assert.Equal(HttpStatusCode.NotFound, (await ferry.Http.GetAsync("/api/queues/staging/work")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await ferry.Http.DeleteAsync("/api/vhosts/%2F")).StatusCode);
    }
}
