using System.Globalization;
using System.Text;
using Ferry.Broker.Exchanges;
using Ferry.Broker.Queues;
using Ferry.Broker.VirtualHosts;
using Ferry.Metrics;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/queues</c>, <c>/api/exchanges</c>, <c>/api/bindings</c>: RabbitMQ's model as the management API
/// shows it, read from and changed through each vhost's <see cref="QueueBroker"/>.
/// </summary>
internal static class QueueEndpoints
{
    /// <summary>The admin API is no AMQP connection: it owns no exclusive queue, so it cannot touch one.</summary>
    private const string AdminOwner = "";

    public static IEndpointRouteBuilder MapQueueEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/queues", (VirtualHostRegistry vhosts, RateSampler rates) =>
            AdminResults.Json(vhosts.Names.SelectMany(v => vhosts.TryGet(v, out var broker) ? broker.Queues.Select(q => Describe(v, broker, q, rates)) : [])
                .OrderBy(q => q.Vhost, StringComparer.Ordinal).ThenBy(q => q.Name, StringComparer.Ordinal).ToList(), FerryJsonContext.Api.ListQueueInfo));

        // RabbitMQ's paths with the vhost segment (URL-encoded, "/" as %2F); the older paths without it mean vhost "/".
        endpoints.MapGet("/api/queues/{name}", (string name, QueueBroker broker, RateSampler rates) => GetQueue(VirtualHostRegistry.Default, broker, name, rates));
        endpoints.MapGet("/api/queues/{vhost}/{name}", (string vhost, string name, VirtualHostRegistry vhosts, RateSampler rates) =>
            InVhost(vhosts, vhost, (v, broker) => GetQueue(v, broker, name, rates)));

        endpoints.MapPut("/api/queues/{name}", (string name, HttpRequest request, QueueBroker broker, RateSampler rates) =>
            PutQueueAsync(VirtualHostRegistry.Default, broker, name, request, rates));
        endpoints.MapPut("/api/queues/{vhost}/{name}", (string vhost, string name, HttpRequest request, VirtualHostRegistry vhosts, RateSampler rates) =>
            InVhostAsync(vhosts, vhost, (v, broker) => PutQueueAsync(v, broker, name, request, rates)));

        endpoints.MapDelete("/api/queues/{name}", (string name, QueueBroker broker) => DeleteQueue(broker, name));
        endpoints.MapDelete("/api/queues/{vhost}/{name}", (string vhost, string name, VirtualHostRegistry vhosts) =>
            InVhost(vhosts, vhost, (_, broker) => DeleteQueue(broker, name)));

        endpoints.MapPost("/api/queues/{name}/purge", (string name, QueueBroker broker) => Purge(broker, name));
        endpoints.MapPost("/api/queues/{vhost}/{name}/purge", (string vhost, string name, VirtualHostRegistry vhosts) =>
            InVhost(vhosts, vhost, (_, broker) => Purge(broker, name)));
        endpoints.MapDelete("/api/queues/{vhost}/{name}/contents", (string vhost, string name, VirtualHostRegistry vhosts) =>
            InVhost(vhosts, vhost, (_, broker) => Purge(broker, name)));

        endpoints.MapGet("/api/exchanges", (QueueBroker broker) => Exchanges(broker));
        endpoints.MapGet("/api/exchanges/{vhost}", (string vhost, VirtualHostRegistry vhosts) => InVhost(vhosts, vhost, (_, broker) => Exchanges(broker)));
        endpoints.MapGet("/api/bindings", (QueueBroker broker) => Bindings(broker));
        endpoints.MapGet("/api/bindings/{vhost}", (string vhost, VirtualHostRegistry vhosts) => InVhost(vhosts, vhost, (_, broker) => Bindings(broker)));
        return endpoints;
    }

    /// <summary>The vhost of a URL segment (decoded: routing leaves %2F as it is), or 404.</summary>
    private static IResult InVhost(VirtualHostRegistry vhosts, string segment, Func<string, QueueBroker, IResult> action)
    {
        string vhost = Uri.UnescapeDataString(segment);
        return vhosts.TryGet(vhost, out var broker) ? action(vhost, broker) : AdminResults.NotFound($"Vhost '{vhost}' does not exist.");
    }

    private static Task<IResult> InVhostAsync(VirtualHostRegistry vhosts, string segment, Func<string, QueueBroker, Task<IResult>> action)
    {
        string vhost = Uri.UnescapeDataString(segment);
        return vhosts.TryGet(vhost, out var broker) ? action(vhost, broker) : Task.FromResult(AdminResults.NotFound($"Vhost '{vhost}' does not exist."));
    }

    private static IResult GetQueue(string vhost, QueueBroker broker, string name, RateSampler rates) =>
        broker.TryGetQueue(name, out var queue) ? AdminResults.Json(Describe(vhost, broker, queue, rates), FerryJsonContext.Api.QueueInfo) : UnknownQueue(name);

    private static async Task<IResult> PutQueueAsync(string vhost, QueueBroker broker, string name, HttpRequest request, RateSampler rates)
    {
        var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.DeclareQueueRequest).ConfigureAwait(false);
        if (error is not null) return error;
        if (name.Length == 0) return AdminResults.BadRequest("A queue name is required.");
        bool existed = broker.TryGetQueue(name, out _);
        var arguments = body!.Arguments?.ToDictionary(a => a.Key, a => (object?)ParseArgument(a.Value));
        var result = broker.DeclareQueue(name, passive: false, body.Durable, exclusive: false, body.AutoDelete, arguments, AdminOwner, out var queue);
        if (!result.Succeeded) return FromBrokerResult(result);
        return AdminResults.Json(Describe(vhost, broker, queue!, rates), FerryJsonContext.Api.QueueInfo,
            existed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
    }

    private static IResult DeleteQueue(QueueBroker broker, string name)
    {
        if (!broker.TryGetQueue(name, out _)) return UnknownQueue(name);
        var result = broker.DeleteQueue(name, ifUnused: false, ifEmpty: false, AdminOwner, out uint messages);
        return result.Succeeded
            ? AdminResults.Json(new QueueOperationResult(name, messages), FerryJsonContext.Api.QueueOperationResult)
            : FromBrokerResult(result);
    }

    private static IResult Purge(QueueBroker broker, string name)
    {
        var result = broker.Purge(name, AdminOwner, out uint purged);
        return result.Succeeded
            ? AdminResults.Json(new QueueOperationResult(name, purged), FerryJsonContext.Api.QueueOperationResult)
            : FromBrokerResult(result);
    }

    // The default exchange and its implicit bindings (every queue, routing key = its name) are routing
    // rules rather than objects in the broker; RabbitMQ's management API lists them all the same.
    private static IResult Exchanges(QueueBroker broker) =>
        AdminResults.Json(broker.Exchanges
            .Select(x => new ExchangeInfo(x.Name, x.Type.ToString().ToLowerInvariant(), x.Durable, x.AutoDelete, x.Internal, x.AlternateExchange))
            .Prepend(DefaultExchange)
            .OrderBy(x => x.Name, StringComparer.Ordinal)
            .ToList(), FerryJsonContext.Api.ListExchangeInfo);

    private static IResult Bindings(QueueBroker broker) =>
        AdminResults.Json(broker.SnapshotBindings()
            .Select(b => new BindingInfo(b.Source.Name, b.Destination.Name, b.Destination is Exchange ? "exchange" : "queue", b.RoutingKey, Format(b.Arguments)))
            .Concat(broker.Queues.Select(q => new BindingInfo("", q.Name, "queue", q.Name, null)))
            .OrderBy(b => b.Source, StringComparer.Ordinal).ThenBy(b => b.Destination, StringComparer.Ordinal).ThenBy(b => b.RoutingKey, StringComparer.Ordinal)
            .ToList(), FerryJsonContext.Api.ListBindingInfo);

    private static readonly ExchangeInfo DefaultExchange = new("", "direct", Durable: true, AutoDelete: false, Internal: false, AlternateExchange: null);

    private static IResult UnknownQueue(string name) => AdminResults.NotFound($"Queue '{name}' does not exist.");

    /// <summary>AMQP reply codes to HTTP: 404 not found, 405 locked (another connection's exclusive queue) and 406 precondition failed are conflicts with the queue's state.</summary>
    private static IResult FromBrokerResult(BrokerResult result) => result.Code switch
    {
        404 => AdminResults.NotFound(result.Text ?? "Not found."),
        403 => AdminResults.Error(StatusCodes.Status403Forbidden, result.Text ?? "Access refused."),
        405 or 406 => AdminResults.Conflict(result.Text ?? "Conflict."),
        _ => AdminResults.BadRequest(result.Text ?? $"AMQP reply code {result.Code}."),
    };

    /// <summary>Rates are sampled for vhost "/" only (the sampler knows queues by name).</summary>
    private static QueueInfo Describe(string vhost, QueueBroker broker, AmqpQueue queue, RateSampler rates)
    {
        long ready = queue.MessageCount;
        long unacked = queue.UnackedCount;
        var rate = vhost == VirtualHostRegistry.Default ? rates.Queue(queue.Name) : MessageRates.Zero;
        var info = new QueueInfo(queue.Name, queue.Durable, queue.Exclusive, queue.AutoDelete, ready + unacked, ready, unacked,
            (int)queue.ConsumerCount, queue.Traffic.MessagesIn, queue.Traffic.MessagesOut, rate, Format(queue.RawArguments), vhost);
        if (queue.Arguments.Type != QueueType.Quorum) return info;
        // A quorum queue: its partition's committed state, as this node has applied it (the leader, members, in-sync members).
        var state = broker.QuorumStateOf(queue.Name);
        return info with { Type = "quorum", Leader = state?.Leader, Members = state?.Replicas, InSync = state?.Isr };
    }

    /// <summary>Numbers as numbers (x-max-length, x-message-ttl); everything else as a string.</summary>
    private static object ParseArgument(string value) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number) ? number : value;

    private static Dictionary<string, string>? Format(IReadOnlyDictionary<string, object?>? arguments)
    {
        if (arguments is null || arguments.Count == 0) return null;
        return arguments.ToDictionary(a => a.Key, a => a.Value switch
        {
            null => "",
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            var other => other.ToString() ?? "",
        }, StringComparer.Ordinal);
    }
}
