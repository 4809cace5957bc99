using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary>The admin API's cross-site protection (always on) and its HTTP Basic authentication (once users exist).</summary>
public sealed class AdminSecurityTests
{
    private static async Task<int> ReadyAsync(HttpClient http, string queue) =>
        JsonDocument.Parse(await http.GetStringAsync($"/api/queues/{queue}")).RootElement.GetProperty("ready").GetInt32();

    [Fact]
    public async Task NoUsers_CrossOriginTextPlainPurge_Is403_AndTheMessagesStay()
    {
        await using var ferry = new LiveFerry();
        await ferry.InitializeAsync();
        var factory = new ConnectionFactory { Uri = new Uri($"amqp://guest:guest@127.0.0.1:{ferry.Process.AmqpPort}/") };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.QueueDeclareAsync("precious", durable: true, exclusive: false, autoDelete: false);
            for (int i = 0; i < 3; i++) await channel.BasicPublishAsync("", "precious", Encoding.UTF8.GetBytes("m" + i));
        }

        // What a page on any site can send without asking: a "simple" cross-origin POST.
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/api/queues/precious/purge") { Content = new StringContent("x", Encoding.UTF8, "text/plain") };
        forged.Headers.Add("Origin", "http://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await ferry.Http.SendAsync(forged)).StatusCode);
        // Same body without an Origin (curl): still refused, the body is not JSON.
        var textPlain = await ferry.Http.PostAsync("/api/queues/precious/purge", new StringContent("x", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.Forbidden, textPlain.StatusCode);
        Assert.Equal(3, await ReadyAsync(ferry.Http, "precious"));

        // A same-origin or non-browser request still works, as before.
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "/api/queues/precious/purge");
        sameOrigin.Headers.Add("Origin", ferry.Server);
        Assert.Equal(HttpStatusCode.OK, (await ferry.Http.SendAsync(sameOrigin)).StatusCode);
        Assert.Equal(0, await ReadyAsync(ferry.Http, "precious"));
    }

    [Fact]
    public async Task RebindingHostName_Is403_IpAndLocalhostAreServed()
    {
        await using var ferry = new LiveFerry();
        await ferry.InitializeAsync();
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/overview");
        rebound.Headers.Host = "attacker.example:" + ferry.Process.HttpPort;
        Assert.Equal(HttpStatusCode.Forbidden, (await ferry.Http.SendAsync(rebound)).StatusCode);
        using var local = new HttpRequestMessage(HttpMethod.Get, "/api/overview");
        local.Headers.Host = "localhost:" + ferry.Process.HttpPort;
        Assert.Equal(HttpStatusCode.OK, (await ferry.Http.SendAsync(local)).StatusCode);
    }

    [Fact]
    public async Task WithUsers_BasicAuthByTag_AndUsersManagedByCli_AndNoPasswordInLogs()
    {
        string data = Path.Combine(Path.GetTempPath(), "ferry-sec-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        string config = Path.Combine(data, "ferry.json");
        await File.WriteAllTextAsync(config, """
            { "Users": [ { "Name": "root", "Password": "root-pw-4711", "Tags": ["administrator"] },
                         { "Name": "watcher", "Password": "watch-pw-0815", "Tags": ["monitoring"] } ] }
            """);
        try
        {
            await using var ferry = await FerryProcess.StartAsync(Path.Combine(data, "data"), "--config", config);
            using var http = new HttpClient { BaseAddress = new Uri(ferry.Server) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

            var anonymous = await http.GetAsync("/api/overview");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains("Basic", anonymous.Headers.WwwAuthenticate.ToString());
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Delete, "/api/topics/x", "root", "wrong")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/topics", new { name = "t" })).StatusCode);

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/api/overview", "watcher", "watch-pw-0815")).StatusCode);
            var watcherWrite = await SendAsync(http, HttpMethod.Post, "/api/topics", "watcher", "watch-pw-0815", new { name = "t" });
            Assert.Equal(HttpStatusCode.Forbidden, watcherWrite.StatusCode);
            var rootWrite = await SendAsync(http, HttpMethod.Post, "/api/topics", "root", "root-pw-4711", new { name = "t" });
            Assert.Equal(HttpStatusCode.Created, rootWrite.StatusCode);

            var env = new Dictionary<string, string> { ["FERRY_USER"] = "root", ["FERRY_PASSWORD"] = "root-pw-4711" };
            var added = await FerryProcess.RunWithEnvironmentAsync("bob-pw-1234\n", env, "users", "add", "bob", "--tags", "management", "--server", ferry.Server);
            Assert.True(added.ExitCode == 0, added.Stderr);
            var listed = await FerryProcess.RunWithEnvironmentAsync(null, env, "users", "list", "--json", "--server", ferry.Server);
            Assert.True(listed.ExitCode == 0, listed.Stderr);
            Assert.Contains("\"bob\"", listed.Stdout);
            Assert.DoesNotContain("pw", listed.Stdout);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/api/users", "bob", "bob-pw-1234")).StatusCode);
            var noLogin = await FerryProcess.RunAsync(null, "users", "list", "--server", ferry.Server);
            Assert.NotEqual(0, noLogin.ExitCode);

            string stored = await File.ReadAllTextAsync(Path.Combine(data, "data", "security", "users.json"));
            Assert.Contains("storedKey", stored);
            foreach (string secret in new[] { "root-pw-4711", "watch-pw-0815", "bob-pw-1234" })
            {
                Assert.DoesNotContain(secret, stored);
                Assert.DoesNotContain(secret, ferry.Output);
            }
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string user, string password, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        if (body is not null) request.Content = JsonContent.Create(body);
        return http.SendAsync(request);
    }
}
