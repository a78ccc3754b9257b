-- Argo CD health of a playout Channel, from the status the operator writes
-- (docs/architecture.md, "Status (kstatus)"). Install: docs/gitops.md.
local hs = {}

local function condition(kind)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function said(kind, fallback)
  local c = condition(kind)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the playout operator"
  return hs
end
if obj.status.observedGeneration < (obj.metadata.generation or 0) then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the operator to observe generation %d", obj.metadata.generation)
  return hs
end

local phase = obj.status.phase
local stalled = condition("Stalled")
if phase == "Failed" or (stalled ~= nil and stalled.status == "True") then
  hs.status = "Degraded"
  hs.message = said("Stalled", "The channel failed")
elseif phase == "Degraded" then
  -- Off air for viewers even while the operator still hopes it recovers.
  hs.status = "Degraded"
  hs.message = said("StreamHealthy", "The stream is not healthy")
elseif phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = said("Ready", "The channel is suspended")
elseif phase == "Live" then
  hs.status = "Healthy"
  hs.message = said("Ready", "On air")
else
  hs.status = "Progressing"
  hs.message = said("Ready", "Starting")
end
return hs
