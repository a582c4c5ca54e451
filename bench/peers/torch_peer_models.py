# Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
"""The four bench models in PyTorch (shared by torch_peer.py and onnx_export.py)."""
import torch, torch.nn as nn

class LastStep(nn.Module):
    def __init__(self): super().__init__(); self.lstm = nn.LSTM(64, 32, batch_first=True); self.fc = nn.Linear(32, 10)
    def forward(self, x): return torch.softmax(self.fc(self.lstm(x)[0][:, -1]), -1)

class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        cbr = lambda: [nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)]
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.blocks = nn.ModuleList(nn.Sequential(*cbr(), nn.ReLU(), *cbr()) for _ in range(3))
        self.fc = nn.Linear(32, 10)
    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks: x = torch.relu(x + b(x))
        return torch.softmax(self.fc(x.mean((2, 3))), -1)

models = {
    'mlp': (lambda: nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 512), nn.ReLU(),
                                  nn.Dropout(0.2), nn.Linear(512, 10), nn.Softmax(-1)), (784,)),
    'cnn': (lambda: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(13 * 13 * 32, 10), nn.Softmax(-1)), (1, 28, 28)),
    'lstm': (LastStep, (20, 64)),
    'resnet': (ResNet, (3, 32, 32)),
}
