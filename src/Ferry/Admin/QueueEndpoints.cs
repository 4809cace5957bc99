using System.Globalization;
using System.Text;
using Ferry.Broker.Exchanges;
using Ferry.Broker.Queues;
using Ferry.Metrics;

namespace Ferry.Admin;

/// <summary>
/// <c>/api/queues</c>, <c>/api/exchanges</c>, <c>/api/bindings</c>: RabbitMQ's model as the management API
/// shows it, read from and changed through <see cref="QueueBroker"/> (vhost "/" only).
/// </summary>
internal static class QueueEndpoints
{
    /// <summary>The admin API is no AMQP connection: it owns no exclusive queue, so it cannot touch one.</summary>
    private const string AdminOwner = "";

    public static IEndpointRouteBuilder MapQueueEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/queues", (QueueBroker broker, RateSampler rates) =>
            AdminResults.Json(broker.Queues.OrderBy(q => q.Name, StringComparer.Ordinal).Select(q => Describe(q, rates)).ToList(),
                FerryJsonContext.Api.ListQueueInfo));

        endpoints.MapGet("/api/queues/{name}", (string name, QueueBroker broker, RateSampler rates) =>
            broker.TryGetQueue(name, out var queue) ? AdminResults.Json(Describe(queue, rates), FerryJsonContext.Api.QueueInfo) : UnknownQueue(name));

        endpoints.MapPut("/api/queues/{name}", async Task<IResult> (string name, HttpRequest request, QueueBroker broker, RateSampler rates) =>
        {
            var (body, error) = await AdminResults.ReadBodyAsync(request, FerryJsonContext.Api.DeclareQueueRequest).ConfigureAwait(false);
            if (error is not null) return error;
            if (name.Length == 0) return AdminResults.BadRequest("A queue name is required.");
            bool existed = broker.TryGetQueue(name, out _);
            var arguments = body!.Arguments?.ToDictionary(a => a.Key, a => (object?)ParseArgument(a.Value));
            var result = broker.DeclareQueue(name, passive: false, body.Durable, exclusive: false, body.AutoDelete, arguments, AdminOwner, out var queue);
            if (!result.Succeeded) return FromBrokerResult(result);
            return AdminResults.Json(Describe(queue!, rates), FerryJsonContext.Api.QueueInfo,
                existed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
        });

        endpoints.MapDelete("/api/queues/{name}", (string name, QueueBroker broker) =>
        {
            if (!broker.TryGetQueue(name, out _)) return UnknownQueue(name);
            var result = broker.DeleteQueue(name, ifUnused: false, ifEmpty: false, AdminOwner, out uint messages);
            return result.Succeeded
                ? AdminResults.Json(new QueueOperationResult(name, messages), FerryJsonContext.Api.QueueOperationResult)
                : FromBrokerResult(result);
        });

        endpoints.MapPost("/api/queues/{name}/purge", (string name, QueueBroker broker) =>
        {
            var result = broker.Purge(name, AdminOwner, out uint purged);
            return result.Succeeded
                ? AdminResults.Json(new QueueOperationResult(name, purged), FerryJsonContext.Api.QueueOperationResult)
                : FromBrokerResult(result);
        });

        // The default exchange and its implicit bindings (every queue, routing key = its name) are routing
        // rules rather than objects in the broker; RabbitMQ's management API lists them all the same.
        endpoints.MapGet("/api/exchanges", (QueueBroker broker) =>
            AdminResults.Json(broker.Exchanges
                .Select(x => new ExchangeInfo(x.Name, x.Type.ToString().ToLowerInvariant(), x.Durable, x.AutoDelete, x.Internal, x.AlternateExchange))
                .Prepend(DefaultExchange)
                .OrderBy(x => x.Name, StringComparer.Ordinal)
                .ToList(), FerryJsonContext.Api.ListExchangeInfo));

        endpoints.MapGet("/api/bindings", (QueueBroker broker) =>
            AdminResults.Json(broker.SnapshotBindings()
                .Select(b => new BindingInfo(b.Source.Name, b.Destination.Name, b.Destination is Exchange ? "exchange" : "queue", b.RoutingKey, Format(b.Arguments)))
                .Concat(broker.Queues.Select(q => new BindingInfo("", q.Name, "queue", q.Name, null)))
                .OrderBy(b => b.Source, StringComparer.Ordinal).ThenBy(b => b.Destination, StringComparer.Ordinal).ThenBy(b => b.RoutingKey, StringComparer.Ordinal)
                .ToList(), FerryJsonContext.Api.ListBindingInfo));
        return endpoints;
    }

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

    private static QueueInfo Describe(AmqpQueue queue, RateSampler rates)
    {
        long ready = queue.MessageCount;
        long unacked = queue.UnackedCount;
        return new QueueInfo(queue.Name, queue.Durable, queue.Exclusive, queue.AutoDelete, ready + unacked, ready, unacked,
            (int)queue.ConsumerCount, queue.Traffic.MessagesIn, queue.Traffic.MessagesOut, rates.Queue(queue.Name), Format(queue.RawArguments));
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
