using System.Numerics.Tensors;
using JasperFx;
using JasperFx.CommandLine;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

[assembly: JasperFxAssembly]

namespace ConversationService.Embeddings;

/// <summary>
/// <c>dotnet ConversationService.dll embeddings-check</c>: loads the configured embedder as the service would and embeds
/// one sentence, without a database or broker. It fails when the configured model did not load (the service would run
/// on the lexical hash), so a deployment can check its image, offline, before it starts.
/// </summary>
[Description("Load the configured embedder and embed one sentence (no database or broker needed)", Name = "embeddings-check")]
public sealed class EmbeddingsCheckCommand : JasperFxAsyncCommand<NetCoreInput>
{
    public override async Task<bool> Execute(NetCoreInput input)
    {
        using var host = input.BuildHost();
        var options = host.Services.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
        var model = host.Services.GetRequiredService<EmbeddingModel>();
        var vector = await model.Generator.GenerateVectorAsync("Caroline went to the support group yesterday.");
        await Console.Out.WriteLineAsync($"{model.Id}: {vector.Length} dimensions, norm {TensorPrimitives.Norm(vector.Span):F3}");
        return options.Provider != EmbeddingOptions.LocalModel || model.Id == ArcticModel.Id;
    }
}
