/** `GET /v1/models` as vLLM answers it: one model card, with vLLM's fixed permission entry. */
export function modelsListBody(model: string, maxModelLen: number, idSuffix: string): string {
  const created = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    object: "list",
    data: [
      {
        id: model,
        object: "model",
        created,
        owned_by: "vllm",
        root: model,
        parent: null,
        max_model_len: maxModelLen,
        permission: [
          {
            id: `modelperm-${idSuffix}`,
            object: "model_permission",
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: "*",
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  });
}
