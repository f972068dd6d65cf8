using Microsoft.Net.Http.Headers;

namespace ConversationService.Context;

/// <summary>
/// A context answer written from its serialized bytes, with an ETag over them; a GET whose If-None-Match names that
/// ETag gets 304 and no body. The answer is built (or replayed) only after the freshness read, so a 304 is as fresh
/// as a 200 would have been, and the same content gives the same ETag on every replica.
/// </summary>
public sealed class ContextReply(ContextAnswer answer) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var (request, response) = (httpContext.Request, httpContext.Response);
        response.Headers.ETag = answer.ETag;
        if (HttpMethods.IsGet(request.Method) && Matches(request.GetTypedHeaders().IfNoneMatch))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = answer.Body.Length;
        return response.Body.WriteAsync(answer.Body, httpContext.RequestAborted).AsTask();
    }

    private bool Matches(IList<EntityTagHeaderValue> ifNoneMatch)
    {
        if (ifNoneMatch.Count == 0)
        {
            return false;
        }
        var current = EntityTagHeaderValue.Parse(answer.ETag);
        return ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));
    }
}
