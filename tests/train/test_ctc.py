"""The CTC head scores projected audio against LLM embedding rows and can be fitted."""

from __future__ import annotations

import torch

from llaso.train.ctc import CtcHead, ctc_vocabulary


def test_vocabulary_and_class_mapping() -> None:
    vocab = ctc_vocabulary([[5, 9, 5], [2]])
    assert vocab == [2, 5, 9]
    head = CtcHead(vocab, dim=4)
    assert head.to_classes([9, 2, 77]) == [3, 1]  # unknown ids dropped, blank is 0


def test_fitting_projected_frames_decodes_the_target() -> None:
    torch.manual_seed(0)
    embedding = torch.randn(20, 8)
    target = [3, 7, 7, 11]
    head = CtcHead(ctc_vocabulary([target]), dim=8)
    frames = torch.nn.Parameter(torch.randn(12, 8) * 0.1)
    opt = torch.optim.Adam([frames, *head.parameters()], lr=0.1)
    first = None
    for _ in range(150):
        loss = head.loss([frames], [target], embedding)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first / 5
    assert head.greedy_decode(frames.detach(), embedding) == target
